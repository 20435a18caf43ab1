"""The ``sidislab`` command line.

    sidislab integrate-demo          Hankel-transform accuracy on an exact pair, per method
    sidislab sets                    LHAPDF-format sets found, and where
    sidislab lumi build|info|clear   the on-disk luminosity cache
    sidislab fit                     fit fNP parameters (closure test or constant targets)
    sidislab check-gradients         autograd against finite differences
    sidislab report                  run the notebooks headless into reports/ (HTML, metrics)

Each subcommand is a thin wrapper over library functions; results go to stdout, diagnostics
to the log (``-v`` for more).
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

# Importing the command modules registers their subcommands (in this order in --help).
from sidislab.cli import demo, fit, lumi, report, sets  # noqa: F401
from sidislab.cli.base import COMMANDS, command

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
    except (ValueError, LookupError, OSError) as exc:
        log.debug("details", exc_info=True)
        print(f"sidislab {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
