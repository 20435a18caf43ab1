"""``sidislab lumi build|info|clear``: the on-disk luminosity cache."""

from __future__ import annotations

import argparse

from sidislab.cli.base import command, common_physics_args, format_table, load_inputs


def _setup_lumi(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="action", required=True)
    build = sub.add_parser("build", help="compute and cache L_q(b) for a kinematics file")
    common_physics_args(build)
    for name, helptext in (("info", "list cache files"), ("clear", "remove cache files")):
        q = sub.add_parser(name, help=helptext)
        q.add_argument("--config", help="physics/numerics YAML (for luminosity.cache_dir)")
        if name == "clear":
            q.add_argument("key", nargs="?", help="a key or unambiguous key prefix")


@command("lumi", _setup_lumi)
def lumi(args: argparse.Namespace) -> int:
    """The luminosity cache: build, info, clear."""
    from sidislab.lumi.cache import LuminosityCache
    from sidislab.pipeline import cache_dir, luminosity_table, select_points

    cfg, kin = load_inputs(args)
    if args.action == "build":
        points = select_points(kin, use_cut=not args.all_points)
        table = luminosity_table(cfg, points, paths=args.lhapdf_path or None)
        print(
            f"L_q(b): {table.n_points} points × {len(table.flavours)} flavours × {table.Nb} "
            f"b-nodes, key {table.key[:16]}…\n{table.path}"
        )
        return 0
    cache = LuminosityCache(cache_dir(cfg))
    if args.action == "info":
        rows = cache.info()
        if not rows:
            print(f"no luminosity caches in {cache_dir(cfg)}")
            return 0
        cols = ["key", "provider", "n_points", "Nb", "size", "created", "valid"]
        shown = [{**r, "key": r["key"][:16], "size": f"{r['size'] / 2**20:.1f} MiB"} for r in rows]
        print(format_table(shown, cols))
        return 0
    removed = cache.clear(args.key)
    print(f"removed {removed} cache file(s) from {cache_dir(cfg)}")
    return 0
