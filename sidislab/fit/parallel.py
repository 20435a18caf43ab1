r"""Fit replicas as independent tasks on any executor (:mod:`sidislab.compute`): serial, a
Dask LocalCluster or an existing scheduler.

The one replica driver, serial (``executor=None``) or parallel. The task is
:func:`sidislab.fit.replicas.fit_replica`, a pure function of (replica, seed, data, model
factory, settings); the files
(:func:`~sidislab.fit.replicas.replica_path`, one JSON per replica, written atomically
as each replica finishes, in whatever order); one resume rule (a replica whose file
exists is read back, not refitted), so a run started serially can be finished on a
cluster and the other way round. After the run ``summary.json`` holds
:func:`~sidislab.fit.replicas.summarise` of all replicas (central value, spread, χ²
distribution, failed and not-converged replicas).

Each replica runs torch on **one thread** wherever it runs (serially too), so its
floating-point result does not depend on the executor: the replicas of a Dask run are
bit-identical to those of a serial run of this driver with the same seeds.

What a replica task costs beyond its fit, and how it is kept down:

- the inputs every replica shares (data, model factory and its arguments, settings, start)
  are one :class:`ReplicaJob`, sent to each worker **once** (``share``, e.g.
  ``Compute.share``: a Dask broadcast) rather than pickled into every task; a task is
  ``(replica, seed, job)``;
- the model is built **once per worker thread and run** (:func:`cached_model`), not once
  per replica: building it reads the luminosity table and the fNP file (0.6 s for 4608
  points, as long as a whole replica's fit of them may take). Before each replica its
  parameters are put back to the values they were built with, so a replica fitted on a
  reused model is bit-identical to one fitted on a fresh build. The cache is keyed by a token drawn per
  :func:`run_replicas_on` call (not by the arguments' content: the factory reads files
  that may change between runs) and holds one model per thread.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Executor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch

from sidislab.compute import run_tasks_to_files
from sidislab.fit.optimise import FitSettings
from sidislab.fit.replicas import ReplicaData, fit_replica, replica_path, summarise
from sidislab.io import atomic_write

__all__ = [
    "SUMMARY_NAME",
    "ReplicaJob",
    "cached_model",
    "config_cross_section",
    "forget_models",
    "replica_task",
    "run_replicas_on",
    "write_summary",
]

log = logging.getLogger(__name__)

SUMMARY_NAME = "summary.json"
"""File of the replica summary, beside the replica files."""


@dataclass(frozen=True)
class ReplicaJob:
    """What every replica of one run shares (sent to each worker once): the data, the
    model factory and its keyword arguments, the settings, the start values, and
    ``token``, the key of the workers' model cache for this run."""

    data: ReplicaData
    model: Callable[..., Any]
    model_kwargs: Mapping[str, Any]
    settings: FitSettings
    start: tuple[float, ...] | None
    token: str


_models = threading.local()
"""Per worker thread: ``token``, ``model`` and ``initial`` (the parameter values the model
was built with) of the last run's model."""


def cached_model(job: ReplicaJob) -> Any:
    """``job.model(**job.model_kwargs)``, built once per thread for ``job.token`` and reset
    to its built parameter values on every later call (one model per thread is kept)."""
    if getattr(_models, "token", None) != job.token:
        forget_models()
        model = job.model(**dict(job.model_kwargs))
        initial = [p.detach().clone() for p in model.parameters()]
        _models.token, _models.model, _models.initial = job.token, model, initial
        return model
    model = _models.model
    with torch.no_grad():
        for p, p0 in zip(model.parameters(), _models.initial, strict=True):
            p.copy_(p0)
            p.grad = None
    return model


def forget_models() -> None:
    """Drop this thread's cached model (its luminosity table can be large)."""
    _models.__dict__.clear()


def replica_task(replica: int, seed: int, job: ReplicaJob) -> dict[str, Any]:
    """:func:`~sidislab.fit.replicas.fit_replica` of ``job`` on one torch thread, with the
    model of :func:`cached_model`, the settings recorded as the serial driver records them."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        record = fit_replica(
            replica, seed, job.data, lambda: cached_model(job), {}, job.settings, job.start
        )
    finally:
        torch.set_num_threads(threads)
    record["settings"] = asdict(job.settings)
    return record


def config_cross_section(
    config: Mapping[str, Any],
    kinematics: str,
    fnp: str,
    free: Sequence[str] | None = None,
    *,
    use_cut: bool = True,
    paths: Sequence[str] | None = None,
) -> Any:
    """A replica's model built from plain inputs on the worker: the configuration (as
    ``Config.to_dict()``), the kinematics and fNP files (absolute paths the worker can
    read), the free parameters (``None``: the fNP file's flags). The luminosity comes from
    the configuration's cache (shared folder or ``$SIDISLAB_CACHE_DIR``): build it first."""
    from sidislab.config import from_dict
    from sidislab.fnp import load_fnp
    from sidislab.kinematics import load_kinematics
    from sidislab.pipeline import build_cross_section

    cfg = from_dict(dict(config), source="<replica configuration>")
    kin = load_kinematics(kinematics, qToQcut=cfg.qToQcut)
    model = load_fnp(fnp)
    if free:
        model.freeze("*")
        model.unfreeze(*free)
    return build_cross_section(cfg, kin, model, use_cut=use_cut, paths=paths, progress=False)


def write_summary(records: Iterable[Mapping[str, Any]], out_dir: str | os.PathLike[str]) -> Path:
    """Write :func:`~sidislab.fit.replicas.summarise` of ``records`` to ``summary.json``."""
    summary = summarise(list(records))
    doc = summary.as_dict()
    doc["failed"] = [{"replica": k, "reason": v} for k, v in summary.failed.items()]
    path = Path(out_dir) / SUMMARY_NAME
    with atomic_write(path) as fh:
        json.dump(doc, fh, indent=1, allow_nan=True)
    return path


def run_replicas_on(
    executor: Executor | None,
    replicas: int | Iterable[int],
    out_dir: str | os.PathLike[str],
    data: ReplicaData,
    model: Callable[..., Any],
    model_kwargs: Mapping[str, Any],
    settings: FitSettings,
    *,
    seed: int = 0,
    start: Sequence[float] | None = None,
    share: Callable[[Any], Any] | None = None,
    callback: Callable[[dict[str, Any]], None] | None = None,
) -> list[dict[str, Any]]:
    """Fit replicas (``replicas``: a count n meaning 1..n, or the indices) on ``executor``
    (``None``: serially here), one file per replica as each finishes, skipping those done;
    then write ``summary.json``. Returns the records in replica order.

    ``share``: how the inputs every replica shares (a :class:`ReplicaJob`) reach the
    tasks (``Compute.share`` sends them to each Dask worker once; without it they are
    pickled into every task). ``callback(record)`` is called for each replica fitted now.
    """
    out = Path(out_dir)
    indices = list(range(1, replicas + 1)) if isinstance(replicas, int) else list(replicas)
    if len(set(indices)) != len(indices):
        raise ValueError(f"run_replicas_on: repeated replica indices in {indices}")
    job = ReplicaJob(
        data,
        model,
        dict(model_kwargs),
        settings,
        None if start is None else tuple(float(v) for v in start),
        uuid.uuid4().hex,
    )
    shared = share(job) if share is not None else job
    tasks = {replica_path(out, i).stem: (i, seed, shared) for i in indices}
    try:
        docs = run_tasks_to_files(
            replica_task,
            tasks,
            out,
            executor,
            on_done=None if callback is None else (lambda _id, doc: callback(doc)),
        )
    finally:
        if executor is None:
            forget_models()  # the serial run's model (workers keep theirs until the next run)
    records = []
    for i, doc in zip(indices, docs.values()):
        doc.setdefault("replica", i)  # a task that could not run at all (compute.TaskFailure)
        doc.setdefault("seed", seed)
        doc.setdefault("reason", doc.get("error", ""))
        records.append(doc)
    write_summary(records, out)
    return records
