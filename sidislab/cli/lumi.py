"""``sidislab lumi build|info|clear``: the on-disk luminosity cache."""

from __future__ import annotations

import argparse

from sidislab.cli.base import command, common_physics_args, format_table, load_inputs


def _setup_lumi(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="action", required=True)
    build = sub.add_parser("build", help="compute and cache L_q(b) for a kinematics file")
    common_physics_args(build)
    build.add_argument(
        "--dask",
        metavar="TARGET",
        help="run the chunks on Dask: local:N (N worker processes) or tcp://HOST:PORT "
        "(default: the config's compute.dask, else serial)",
    )
    build.add_argument(
        "--chunk-size", type=int, help="points per task (default: 1024, smaller on Dask)"
    )
    build.add_argument("--force", action="store_true", help="rebuild even if the table exists")
    for name, helptext in (("info", "list cache files"), ("clear", "remove cache files")):
        q = sub.add_parser(name, help=helptext)
        q.add_argument("--config", help="physics/numerics YAML (for luminosity.cache_dir)")
        if name == "clear":
            q.add_argument("key", nargs="?", help="a key or unambiguous key prefix")


def _temporaries_text(temps: list[dict]) -> str:
    """The temporary files of builds, and what to do about the orphaned ones."""
    rows = [
        {
            "temporary file": t["path"].name,
            "size": f"{t['size'] / 2**20:.1f} MiB",
            "age": f"{t['age'] / 60:.0f} min",
            "state": t["state"],
        }
        for t in temps
    ]
    orphans = [t for t in temps if t["state"] == "orphaned"]
    text = f"\n{len(temps)} temporary file(s) of builds:\n" + format_table(
        rows, ["temporary file", "size", "age", "state"]
    )
    if orphans:
        mib = sum(t["size"] for t in orphans) / 2**20
        text += (
            f"\n{len(orphans)} orphaned by killed builds ({mib:.1f} MiB): removed by the next "
            "build or by `sidislab lumi clear`"
        )
    return text


def _build(args: argparse.Namespace, cfg, points):
    """Build (or verify) the table's file, on Dask when ``--dask``/``compute.dask`` says
    so; (provider, path). The table is not kept in memory (:meth:`LuminosityCache.ensure`)."""
    from sidislab.compute import Compute, balanced_chunk_size, resolve_target
    from sidislab.lumi.cache import DEFAULT_CHUNK_SIZE, LuminosityCache
    from sidislab.lumi.providers import make_provider
    from sidislab.pipeline import cache_dir

    target = resolve_target(args.dask, cfg.compute.dask, cfg.source)
    provider = make_provider(cfg, paths=args.lhapdf_path or None)
    with Compute(target) as where:
        print(f"running on: {where.describe()}")
        if where.dashboard_link:
            print(f"Dask dashboard: {where.dashboard_link}", flush=True)
        chunk = args.chunk_size or balanced_chunk_size(
            len(points), where.n_workers, DEFAULT_CHUNK_SIZE
        )
        path = LuminosityCache(cache_dir(cfg)).ensure(
            provider, points, chunk_size=chunk, executor=where.executor, force=args.force
        )
    return provider, path


@command("lumi", _setup_lumi)
def lumi(args: argparse.Namespace) -> int:
    """The luminosity cache: build, info, clear."""
    from sidislab.lumi.cache import DEFAULT_CACHE_GRID, LuminosityCache, key_of_file
    from sidislab.pipeline import cache_dir, select_points

    cfg, kin = load_inputs(args)
    if args.action == "build":
        points = select_points(kin, use_cut=not args.all_points)
        provider, path = _build(args, cfg, points)
        print(
            f"L_q(b): {len(points)} points × {len(provider.flavours)} flavours × "
            f"{DEFAULT_CACHE_GRID.Nb} b-nodes, key {key_of_file(path)[:16]}…\n{path}"
        )
        return 0
    cache = LuminosityCache(cache_dir(cfg))
    if args.action == "info":
        rows = cache.info()
        temps = cache.temporaries()
        if not rows:
            print(f"no luminosity caches in {cache_dir(cfg)}")
        else:
            cols = ["key", "provider", "n_points", "Nb", "size", "created", "valid"]
            shown = [
                {**r, "key": r["key"][:16], "size": f"{r['size'] / 2**20:.1f} MiB"} for r in rows
            ]
            print(format_table(shown, cols))
        if temps:
            print(_temporaries_text(temps))
        return 0
    removed = cache.clear(args.key)
    print(f"removed {removed} cache file(s) from {cache_dir(cfg)}")
    return 0
