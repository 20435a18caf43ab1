"""Exceptions raised by sidislab for bad input.

Every error names what was wrong, where (file, key or field, and for kinematic data the
point index) and, where there is a fixed set, the allowed values. They subclass
``ValueError`` (or ``LookupError``/``ImportError`` where that is the natural kind) so that
callers may catch them generically; the ``sidislab`` command catches :class:`SidislabError`
and prints its message as one line (exit status 2).

Hierarchy::

    SidislabError
    ├── ConfigError            configuration files and mappings (physics config, fNP config)
    │   └── ResourceLimitError a table or integrand would need more memory than allowed
    ├── DataError              data files (kinematics, measurements, YAML syntax)
    │   └── KinematicsError
    ├── SetError               collinear (LHAPDF-format) sets
    │   ├── GridFileError      a malformed .info/.dat file
    │   └── SetNotFoundError   (also a LookupError)
    ├── ExtrapolationError
    ├── NotYetImplementedOrder (also a NotImplementedError)
    └── MissingDependencyError an optional package is not installed (also an ImportError)
"""

from __future__ import annotations


class SidislabError(Exception):
    """Base class of sidislab's own errors."""


class ConfigError(SidislabError, ValueError):
    """A configuration file or mapping is malformed or holds a forbidden value."""


class ResourceLimitError(ConfigError):
    """A table or integrand would exceed the memory limit: the message gives the estimate,
    the limit and the key that drives the size."""


class DataError(SidislabError, ValueError):
    """A data file (kinematics, measurements, any YAML document) is malformed."""


class KinematicsError(DataError):
    """Kinematic data are malformed or outside the physical region."""


class SetError(SidislabError, ValueError):
    """A collinear (LHAPDF-format) set is missing, malformed or inconsistent."""


class GridFileError(SetError):
    """An LHAPDF-format file is malformed, truncated or missing."""


class SetNotFoundError(SetError, LookupError):
    """A PDF/FF set name could not be found on any search path."""


class ExtrapolationError(SidislabError, ValueError):
    """A value was requested outside a grid under the ``error`` extrapolation policy."""


class NotYetImplementedOrder(SidislabError, NotImplementedError):
    """A perturbative order that sidislab does not provide yet."""


class MissingDependencyError(SidislabError, ImportError):
    """An optional package (an extra of ``pyproject.toml``) is needed but not installed."""


class DataError(SidislabError, ValueError):
    """A measured-data file (NangaParbat/HEPData-like YAML) is malformed, or a data-set
    selection matches nothing; the message names the file, the field and the point."""
