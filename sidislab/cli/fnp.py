"""``sidislab fnp list|show`` and ``sidislab data``: the data shipped with the package, by name."""

from __future__ import annotations

import argparse

from sidislab.cli.base import command, format_table


def _setup_fnp(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="action", required=True)
    sub.add_parser("list", help="the shipped fNP configurations (names for --fnp)")
    show = sub.add_parser("show", help="print one fNP configuration (a name or a path)")
    show.add_argument("name")


@command("fnp", _setup_fnp)
def fnp(args: argparse.Namespace) -> int:
    """The fNP configurations shipped with sidislab: list them, or show one."""
    import sidislab.resources as resources
    from sidislab.fnp.config import load_config, resolve_config_path

    if args.action == "show":
        path = resolve_config_path(args.name)
        load_config(path)  # validate before showing
        print(f"# {path}")
        print(path.read_text(encoding="utf-8"), end="")
        return 0
    rows = []
    for name in resources.names("fnp"):
        cfg = load_config(name)
        rows.append(
            {
                "name": name,
                "model": cfg.model,
                "flavours": "dependent" if cfg.flavour_dependent else "blind",
                "description": cfg.description,
            }
        )
    print(format_table(rows, ["name", "model", "flavours", "description"]))
    print(f"\n(in {resources.folder('fnp')}; use with --fnp NAME)")
    return 0


def _setup_data(p: argparse.ArgumentParser) -> None:
    pass


@command("data", _setup_data)
def data(args: argparse.Namespace) -> int:
    """Everything shipped with sidislab, by kind and name (fNP, kinematics, LHAPDF sets)."""
    import sidislab.resources as resources

    rows = [
        {"kind": kind, "name": name, "path": str(resources.path_of(kind, name))}
        for kind in resources.KINDS
        for name in resources.names(kind)
    ]
    print(format_table(rows, ["kind", "name", "path"]))
    print("\nuse: --fnp NAME, --kinematics NAME, pdfset/ffset: NAME in a configuration")
    return 0
