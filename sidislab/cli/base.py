"""The command registry and the helpers every subcommand shares."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence

COMMANDS: dict[str, tuple[Callable[[argparse.ArgumentParser], None], Callable[..., int]]] = {}


def command(name: str, setup: Callable[[argparse.ArgumentParser], None]):
    """Register a subcommand: ``setup`` adds its arguments, the decorated function runs it."""

    def deco(fn: Callable[..., int]) -> Callable[..., int]:
        COMMANDS[name] = (setup, fn)
        return fn

    return deco


def format_table(
    rows: Sequence[dict], columns: Sequence[str], fmt: dict[str, str] | None = None
) -> str:
    fmt = fmt or {}
    cells = [[fmt.get(c, "{}").format(r[c]) for c in columns] for r in rows]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(columns)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(columns, widths))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(v.ljust(w) for v, w in zip(row, widths)) for row in cells]
    return "\n".join(lines)


def common_physics_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", help="physics/numerics YAML (default: built-in defaults)")
    p.add_argument(
        "--kinematics",
        default="sidis_mix",
        help="kinematics YAML: a path or a shipped name (%(default)s, hermes_7pt; "
        "`sidislab fnp list` shows them) (default: %(default)s)",
    )
    p.add_argument("--all-points", action="store_true", help="also points beyond qT > qToQcut·Q")
    p.add_argument("--lhapdf-path", action="append", default=[], help="extra set folder")


def load_inputs(args: argparse.Namespace):
    import sidislab.resources as resources
    from sidislab.config import Config, load_config
    from sidislab.errors import KinematicsError
    from sidislab.kinematics import load_kinematics

    cfg = load_config(args.config) if args.config else Config()
    kin = None
    if "kinematics" in args:
        # the file actually read (a shipped name → its path), for the records of the run
        args.kinematics = str(
            resources.resolve("kinematics", args.kinematics, error=KinematicsError)
        )
        kin = load_kinematics(args.kinematics, qToQcut=cfg.qToQcut)
    return cfg, kin
