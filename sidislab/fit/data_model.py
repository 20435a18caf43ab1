r"""The theory of a real-data fit, built from plain inputs: bin-averaged multiplicities
(:func:`sidislab.pipeline.build_multiplicities`) of the measured points that pass the cuts.

:func:`measured_multiplicity_model` is a top-level factory whose arguments are plain
(picklable) values, so a replica (:func:`sidislab.fit.replicas.fit_replica`) can build it
on a worker; :func:`measured_fit_inputs` gives the matching data (after cuts) and the
replica inputs in one call::

    data, rdata, kwargs = measured_fit_inputs(cfg, ["HERMES_Pro_Pi*"], fnp="…", data="…")
    records = run_replicas_on(None, 10, "out/", rdata, measured_multiplicity_model, kwargs, settings)

The luminosity comes from the configuration's cache (``$SIDISLAB_CACHE_DIR`` or
``luminosity.cache_dir``): the first build fills it, later ones (every replica) read it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from sidislab.fit.replicas import ReplicaData
from sidislab.measurements.cuts import Cuts
from sidislab.measurements.dataset import DataSet
from sidislab.measurements.discovery import load_datasets

__all__ = ["measured_data", "measured_fit_inputs", "measured_multiplicity_model"]


def measured_data(
    datasets: Sequence[str],
    data: str | Sequence[str] | None = None,
    cuts: Mapping[str, Any] | None = None,
) -> DataSet:
    """The points of ``datasets`` (patterns) in ``data`` (folders; default
    ``$SIDISLAB_DATA_PATH``) that pass ``cuts`` (a ``cuts:`` mapping; None: MAP22's)."""
    return Cuts.from_mapping(cuts).apply(load_datasets(list(datasets), data))


def measured_multiplicity_model(
    config: Mapping[str, Any],
    datasets: Sequence[str],
    fnp: str,
    free: Sequence[str] | None = None,
    *,
    data: str | Sequence[str] | None = None,
    cuts: Mapping[str, Any] | None = None,
    paths: Sequence[str] | None = None,
    normalisation: str = "none",
    pht_mode: str = "bin",
    ff_hadron: str = "PI",
):
    """The :class:`~sidislab.observables.multiplicity.Multiplicity` of the measured points
    (see :func:`measured_data`) with the fNP of ``fnp`` (``free``: the parameters left
    free, None: the file's flags) and the configuration ``config`` (``Config.to_dict()``)."""
    from sidislab.config import from_dict
    from sidislab.fnp import load_fnp
    from sidislab.pipeline import build_multiplicities

    cfg = from_dict(dict(config), source="<fit configuration>")
    points = measured_data(datasets, data, cuts)
    model = load_fnp(fnp)
    if free:
        model.freeze("*")
        model.unfreeze(*free)
    return build_multiplicities(
        cfg,
        points.bins,
        model,
        normalisation=normalisation,
        pht_mode=pht_mode,
        ff_hadron=ff_hadron,
        paths=paths,
        progress=False,
    )


def measured_fit_inputs(
    cfg,
    datasets: Sequence[str],
    fnp: str | Path,
    free: Sequence[str] | None = None,
    *,
    data: str | Sequence[str] | None = None,
    cuts: Mapping[str, Any] | None = None,
    t0=None,
    **model_options: Any,
) -> tuple[DataSet, ReplicaData, dict[str, Any]]:
    """(the data after cuts, the replica data — β from the data or ``t0`` —, the keyword
    arguments of :func:`measured_multiplicity_model`), with absolute paths so that a
    worker can read them."""
    folders = None
    if data is not None:
        folders = (
            [str(Path(data).resolve())]
            if isinstance(data, str | Path)
            else [str(Path(d).resolve()) for d in data]
        )
    points = measured_data(datasets, folders, cuts)
    kwargs = {
        "config": cfg.to_dict(),
        "datasets": list(datasets),
        "fnp": str(Path(fnp).resolve()),
        "free": list(free) if free else None,
        "data": folders,
        "cuts": cuts,
        **model_options,
    }
    return points, ReplicaData.from_dataset(points, t0=t0), kwargs
