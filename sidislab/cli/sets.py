"""``sidislab sets``: the LHAPDF-format sets found, and where."""

from __future__ import annotations

import argparse

from sidislab.cli.base import command, format_table


def _setup_sets(p: argparse.ArgumentParser) -> None:
    p.add_argument("--path", action="append", default=[], help="extra folder to search")


@command("sets", _setup_sets)
def sets(args: argparse.Namespace) -> int:
    """List the LHAPDF-format sets sidislab can find, and where."""
    from sidislab.collinear import list_sets

    found = list_sets(extra_paths=args.path or None)
    if not found:
        print(
            "no LHAPDF-format sets found (LHAPDF_DATA_PATH, lhapdf paths, "
            "sidislab/resources/lhapdf)"
        )
        return 1
    print(format_table([{"set": n, "path": str(p)} for n, p in found], ["set", "path"]))
    return 0
