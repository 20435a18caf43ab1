"""The ``sidislab`` command line.

    sidislab integrate-demo          Hankel-transform accuracy on an exact pair, per method
    sidislab sets                    LHAPDF-format sets found, and where
    sidislab fnp list|show           the shipped fNP configurations (names for --fnp)
    sidislab data                    everything shipped with the package, by name
    sidislab lumi build|info|clear   the on-disk luminosity cache
    sidislab fit                     fit fNP parameters (closure test or constant targets)
    sidislab check-gradients         autograd against finite differences
    sidislab report                  run the notebooks headless into reports/ (HTML, metrics)
    sidislab predict                 measured multiplicities vs theory, correlated χ²

Each subcommand is a thin wrapper over library functions; results go to stdout, diagnostics
to the log (``-v`` for more).
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

# Importing the command modules registers their subcommands (in this order in --help).
from sidislab.cli import demo, fit, fnp, lumi, predict, report, sets  # noqa: F401
from sidislab.cli.base import COMMANDS, command
from sidislab.errors import SidislabError

__all__ = ["COMMANDS", "build_parser", "command", "main"]

log = logging.getLogger("sidislab")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="sidislab", description=__doc__.split("\n")[0])
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more logging")
    sub = parser.add_subparsers(dest="command", required=True)
    for name, (setup, fn) in COMMANDS.items():
        p = sub.add_parser(name, help=(fn.__doc__ or "").strip().split("\n")[0])
        setup(p)
        p.set_defaults(func=fn)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    level = logging.WARNING - 10 * min(args.verbose, 2)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print(f"sidislab {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `sidislab … | head`: the reader left, nothing to say
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no flush error
        return 0
    except (SidislabError, ValueError, LookupError, OSError, ImportError, MemoryError) as exc:
        # user errors (bad input, missing files or optional packages): one line, exit 2
        log.debug("details", exc_info=True)
        print(f"sidislab {args.command}: error: {user_message(exc)}", file=sys.stderr)
        return 2


EXTRAS = {
    "apfelpy": "APFEL++ Python bindings (not on PyPI; see DEVELOPERS.md)",
    "lhapdf": "LHAPDF 6 with its Python module (not on PyPI)",
    "eko": "pip install 'sidislab[data]'",
    "jupyterlab": "pip install 'sidislab[notebooks]'",
    "ipywidgets": "pip install 'sidislab[notebooks]'",
    "matplotlib": "pip install 'sidislab[notebooks]'",
    "papermill": "pip install 'sidislab[notebooks]'",
    "nbconvert": "pip install 'sidislab[notebooks]'",
    "ipykernel": "pip install 'sidislab[notebooks]'",
    "mpmath": "pip install 'sidislab[dev]'",
    "playwright": "pip install 'sidislab[dev]'",
    "pdfxtmd": "pip install 'sidislab[dev]'",
}
"""Optional packages and how to get them (the extras of pyproject.toml)."""


def user_message(exc: BaseException) -> str:
    """The one-line message the command prints for a user error.

    An :class:`ImportError` of an optional package names the package and its extra; a
    :class:`MemoryError` says what ran out; every message is folded onto one line.
    """
    if isinstance(exc, ImportError) and not isinstance(exc, SidislabError):
        name = (exc.name or "").split(".")[0]
        if name in EXTRAS and name not in str(exc):
            text = f"needs the optional package {name!r}, not installed here ({EXTRAS[name]})"
        elif name in EXTRAS:
            text = f"{exc} [{name}: {EXTRAS[name]}]"
        else:
            text = str(exc) or f"cannot import {name or 'a module'}"
    elif isinstance(exc, MemoryError):
        text = f"out of memory ({exc or 'allocation failed'}); use fewer points or nodes"
    elif isinstance(exc, OSError) and exc.filename is not None and exc.strerror:
        text = f"{exc.filename}: {exc.strerror}"
    else:
        text = str(exc) or type(exc).__name__
    if isinstance(exc, KeyError) and not isinstance(exc, SidislabError):
        text = f"missing key {text}"
    return " ".join(text.split())


if __name__ == "__main__":
    sys.exit(main())
