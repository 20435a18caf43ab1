"""Where work runs: map a pure task over chunks, serially in this process (the default) or
on an executor (a ``concurrent.futures`` pool, a Dask cluster's executor).

This is the one place that knows how tasks are dispatched; it knows no physics. The
luminosity-cache builds, the fit replicas and the notebook sweeps are written as pure
functions of (settings, chunk) → result and call :func:`map_tasks` (results in task
order), :func:`map_unordered` (results as they finish, with their index) or
:func:`run_tasks_to_files` (one result file per task, skipped when present: resumable);
the caller merges the results (the cache under its key, the replicas one file each).

Results are always placed by **task index**, whatever the order they finish in, so a merge
is deterministic and a parallel build is bit-identical to the serial one.

**Dask** (optional extra ``pip install 'sidislab[dask]'``). A target is named by a string:

- ``local:N`` — a ``distributed.LocalCluster`` of N worker *processes*, one thread each
  (torch is set to one thread in every worker, restarted ones included);
- ``local`` — the same with one worker per CPU core;
- ``tcp://HOST:PORT`` (or ``tls://``, ``ucx://``, ``ws://``, ``wss://``, ``inproc://``) — an
  existing scheduler (started by ``dask scheduler``, dask-jobqueue, dask-gateway, …);
- nothing (``None``, ``""``, ``serial``) — serial, in this process.

:class:`Compute` opens a target (context manager) and gives the ``executor`` to hand to
the functions above and the dashboard link. Tasks submitted through it carry Dask
``retries`` (a task that *raises* is retried that many times); a task whose worker dies is
re-run on another worker by the scheduler (up to ``distributed.scheduler.allowed-failures``
times) without counting as a retry.
"""

from __future__ import annotations

import concurrent.futures as cf
import importlib
import json
import logging
import os
import traceback
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from sidislab.errors import MissingDependencyError
from sidislab.io import atomic_write

__all__ = [
    "DASK_EXTRA",
    "DASK_SCHEMES",
    "Compute",
    "DaskTarget",
    "TaskFailure",
    "balanced_chunk_size",
    "chunk_slices",
    "map_tasks",
    "map_unordered",
    "parse_dask",
    "require_distributed",
    "resolve_target",
    "run_tasks_to_files",
]

log = logging.getLogger(__name__)

T = TypeVar("T")

DASK_EXTRA = "dask"
"""The optional extra that installs Dask: ``pip install 'sidislab[dask]'``."""
DASK_SCHEMES = ("tcp://", "tls://", "ucx://", "ws://", "wss://", "inproc://")
"""Address schemes of an existing Dask scheduler."""
DEFAULT_RETRIES = 2
"""Dask retries of a task that raises (a killed worker's task is re-run regardless)."""


# --- chunks and maps ----------------------------------------------------------------------


def chunk_slices(n: int, chunk_size: int) -> list[slice]:
    """Consecutive slices of ``range(n)`` with at most ``chunk_size`` items each."""
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or chunk_size < 1:
        raise ValueError(f"chunk_size must be an integer >= 1, got {chunk_size!r}")
    if n < 0:
        raise ValueError(f"number of items must be >= 0, got {n}")
    return [slice(s, min(s + chunk_size, n)) for s in range(0, n, chunk_size)]


def map_tasks(
    fn: Callable[..., T],
    *iterables: Iterable[Any],
    executor: Executor | None = None,
) -> Iterator[T]:
    """``fn(*args)`` for each tuple of arguments zipped from ``iterables``, in order.

    Without an executor the tasks run lazily, one after the other, in this process (so a
    caller can stop early, and memory holds one result at a time). With one, they are
    submitted through ``executor.map``, which yields results in submission order.
    """
    args: Sequence[Sequence[Any]] = [list(it) for it in iterables]
    if executor is None:
        return (fn(*a) for a in zip(*args, strict=True))
    return iter(executor.map(fn, *args))


def map_unordered(
    fn: Callable[..., T],
    *iterables: Iterable[Any],
    executor: Executor | None = None,
) -> Iterator[tuple[int, T]]:
    """``(i, fn(*args_i))`` as each task finishes (serially: in order, lazily).

    With an executor every task is submitted at once and yielded when done, so a caller
    can show progress over finished tasks and place each result by its index. The first
    task that raises cancels the tasks not yet started and its exception propagates (the
    caller then writes nothing); closing the iterator early cancels them too.
    """
    args = [list(it) for it in iterables]
    tasks = list(zip(*args, strict=True))
    if executor is None:
        for i, a in enumerate(tasks):
            yield i, fn(*a)
        return
    futures = {executor.submit(fn, *a): i for i, a in enumerate(tasks)}
    try:
        for fut in cf.as_completed(futures):
            # forget the future before handing its result on: a Dask executor's future
            # holds the fetched result, and keeping every one would keep every chunk in
            # memory until the last one (2 GB of fresh pages for a 2 GB table) instead of
            # letting the caller's next result reuse the memory of the one it consumed
            i = futures.pop(fut)
            yield i, fut.result()
    finally:
        for fut in futures:
            fut.cancel()  # the ones not yet yielded


# --- one file per task (resumable) -------------------------------------------------------


@dataclass(frozen=True)
class TaskFailure:
    """A task that raised: its id, the exception's type and message, and the traceback."""

    task_id: str
    error: str
    traceback: str

    def to_dict(self) -> dict[str, Any]:
        return {"status": "failed", "task_id": self.task_id, "error": self.error}


def _guarded(fn: Callable[..., Any], task_id: str, *args: Any) -> Any:
    """Run ``fn(*args)`` on the worker; an exception comes back as a :class:`TaskFailure`
    (with the worker's traceback) instead of ending the whole map."""
    try:
        return fn(*args)
    except Exception as exc:  # recorded in the task's file and logged by the caller
        return TaskFailure(task_id, f"{type(exc).__name__}: {exc}", traceback.format_exc())


def _task_path(out_dir: Path, task_id: str) -> Path:
    if not task_id or "/" in task_id or task_id.startswith("."):
        raise ValueError(f"run_tasks_to_files: task id {task_id!r} is not a plain file name")
    return out_dir / f"{task_id}.json"


def run_tasks_to_files(
    fn: Callable[..., Mapping[str, Any]],
    tasks: Mapping[str, Sequence[Any]],
    out_dir: str | os.PathLike[str],
    executor: Executor | None = None,
    *,
    on_done: Callable[[str, dict[str, Any]], None] | None = None,
) -> dict[str, dict[str, Any]]:
    """Run ``fn(*args)`` for each ``task_id → args`` and write ``<out_dir>/<task_id>.json``
    (atomically) as each one finishes; tasks whose file exists are skipped (a rerun resumes).

    ``fn`` returns a JSON-able mapping. A task that raises is recorded as
    ``{"status": "failed", "task_id", "error"}`` (and logged with the worker's traceback), so
    a rerun does not repeat a deterministic failure; delete its file to retry it. Returns
    every task's document (read back for the skipped ones), in the order of ``tasks``.
    ``on_done(task_id, doc)`` is called for each task run now, as it finishes.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    docs: dict[str, dict[str, Any]] = {}
    todo: list[str] = []
    for task_id in tasks:
        path = _task_path(out, task_id)
        if path.exists():
            try:
                docs[task_id] = json.loads(path.read_text(encoding="utf-8"))
                continue
            except (OSError, json.JSONDecodeError) as exc:
                log.warning("%s is unreadable (%s): running task %s again", path, exc, task_id)
        todo.append(task_id)
    if len(todo) < len(tasks):
        log.info("%d of %d tasks already done in %s", len(tasks) - len(todo), len(tasks), out)
    results = map_unordered(
        _guarded,
        [fn] * len(todo),
        todo,
        *zip(*(tasks[t] for t in todo), strict=True) if todo else (),
        executor=executor,
    )
    for i, res in results:
        task_id = todo[i]
        if isinstance(res, TaskFailure):
            log.warning("task %s failed: %s\n%s", task_id, res.error, res.traceback)
            doc = res.to_dict()
        else:
            doc = dict(res)
        with atomic_write(_task_path(out, task_id)) as fh:
            json.dump(doc, fh, indent=1, allow_nan=True)
        docs[task_id] = doc
        if on_done is not None:
            on_done(task_id, doc)
    return {t: docs[t] for t in tasks}


# --- Dask ----------------------------------------------------------------------------------


def require_distributed() -> Any:
    """The ``distributed`` module, or :class:`MissingDependencyError` naming the extra."""
    try:
        return importlib.import_module("distributed")
    except ImportError as exc:
        raise MissingDependencyError(
            "running on Dask needs the optional extra 'dask' (dask[distributed]): "
            f"pip install 'sidislab[{DASK_EXTRA}]' (import failed: {exc})"
        ) from exc


@dataclass(frozen=True)
class DaskTarget:
    """Where tasks run: ``kind`` ``"local"`` (``n_workers`` processes, one thread each) or
    ``"scheduler"`` (an existing scheduler at ``address``)."""

    kind: str
    n_workers: int | None = None
    address: str | None = None

    def describe(self) -> str:
        if self.kind == "local":
            return f"LocalCluster of {self.n_workers} single-thread worker processes"
        return f"Dask scheduler at {self.address}"


def parse_dask(spec: str | None, where: str = "--dask") -> DaskTarget | None:
    """Parse ``local:N`` | ``local`` | ``tcp://HOST:PORT`` (other schemes alike); ``None``,
    ``""``, ``serial`` or ``none`` mean serial in-process (returns ``None``).

    ``where`` names the option or config key in the error message.
    """
    if spec is None:
        return None
    if not isinstance(spec, str):
        raise ValueError(
            f"{where}: expected a string such as local:2 or tcp://host:8786, got {spec!r}"
        )
    s = spec.strip()
    if s.lower() in ("", "serial", "none"):
        return None
    if s == "local":
        return DaskTarget("local", n_workers=max(1, os.cpu_count() or 1))
    if s.startswith("local:"):
        n = s[len("local:") :]
        if not n.isdigit() or int(n) < 1:
            raise ValueError(f"{where}: {spec!r}: the number of workers must be an integer >= 1")
        return DaskTarget("local", n_workers=int(n))
    if s.startswith(DASK_SCHEMES):
        rest = s.split("://", 1)[1]
        if not rest or (not s.startswith("inproc://") and ":" not in rest.rsplit("]", 1)[-1]):
            raise ValueError(f"{where}: {spec!r}: a scheduler address needs HOST:PORT")
        return DaskTarget("scheduler", address=s)
    raise ValueError(
        f"{where}: {spec!r} is not a Dask target (allowed: local, local:N, serial, or a "
        f"scheduler address {'|'.join(DASK_SCHEMES)}HOST:PORT)"
    )


def resolve_target(
    option: str | None, config: str | None, source: str = "config"
) -> DaskTarget | None:
    """The target named on the command line (``--dask``) if given, else the configuration's
    ``compute.dask`` (``source`` names the file in errors); ``None``: serial."""
    if option is not None:
        return parse_dask(option, "--dask")
    return parse_dask(config, f"{source}: key 'compute.dask'")


def balanced_chunk_size(n: int, n_workers: int, max_size: int, per_worker: int = 4) -> int:
    """Chunk size giving each of ``n_workers`` about ``per_worker`` chunks of ``n`` items
    (so a slow or restarted worker delays little), at most ``max_size``, at least 1."""
    if n_workers <= 1:
        return max(1, max_size)
    return max(1, min(max_size, -(-n // (n_workers * per_worker))))


def _worker_environ() -> dict[str, str]:
    """Environment of LocalCluster workers: Dask's default pre-spawn environment with one
    BLAS/OpenMP thread, but **without** ``MALLOC_TRIM_THRESHOLD_``: setting it switches off
    glibc's dynamic mmap threshold, so every large temporary array is mmap'ed and faulted
    in afresh; the native luminosity build ran 2.5–3× slower per chunk with it (0.48 s →
    1.35 s for 1000 points, measured here)."""
    import dask

    env = dict(dask.config.get("distributed.nanny.pre-spawn-environ", default={}) or {})
    env.pop("MALLOC_TRIM_THRESHOLD_", None)
    env.update({"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"})
    return {k: str(v) for k, v in env.items()}


def _torch_threads_plugin(n_threads: int) -> Any:
    """A worker plugin setting torch's intra-op threads on every (re)started worker."""
    distributed = require_distributed()

    class TorchThreads(distributed.WorkerPlugin):
        name = "sidislab-torch-threads"

        def __init__(self, n: int) -> None:
            self.n = n

        def setup(self, worker: Any) -> None:
            import torch

            torch.set_num_threads(self.n)

    return TorchThreads(n_threads)


class Compute:
    """An open place to run tasks (context manager): serial, a LocalCluster or a scheduler.

    >>> with Compute("local:2") as where:              # doctest: +SKIP
    ...     print(where.dashboard_link)
    ...     cache.get_or_build(provider, kin, executor=where.executor)

    Attributes (after ``__enter__``): ``target`` (:class:`DaskTarget` or ``None``),
    ``client`` (the ``distributed.Client`` or ``None``), ``executor`` (a
    ``concurrent.futures.Executor`` submitting with ``retries``, or ``None`` for serial),
    ``dashboard_link`` (``None`` serially or when the dashboard is off), ``n_workers``.
    """

    def __init__(
        self,
        target: str | DaskTarget | None = None,
        *,
        retries: int = DEFAULT_RETRIES,
        torch_threads: int = 1,
        dashboard_address: str | None = ":0",
        where: str = "--dask",
    ) -> None:
        self.target = (
            target
            if isinstance(target, DaskTarget) or target is None
            else parse_dask(target, where)
        )
        self.retries = int(retries)
        self.torch_threads = int(torch_threads)
        self.dashboard_address = dashboard_address
        self.client: Any = None
        self.cluster: Any = None
        self.executor: Executor | None = None
        self._log_level: int | None = None

    @property
    def serial(self) -> bool:
        return self.target is None

    @property
    def dashboard_link(self) -> str | None:
        if self.client is None:
            return None
        try:
            return self.client.dashboard_link
        except (AttributeError, KeyError):
            return None

    @property
    def n_workers(self) -> int:
        if self.client is None:
            return 1
        return len(self.client.scheduler_info(n_workers=-1).get("workers", {}))

    def share(self, obj: T) -> T | Any:
        """``obj`` as the tasks should receive it: on Dask a future of ``obj`` sent once to
        every worker (tasks given it get the worker's copy, not one pickle each); serially
        ``obj`` itself. Tasks must not modify it."""
        if self.client is None:
            return obj
        return self.client.scatter(obj, broadcast=True, hash=False)

    def describe(self) -> str:
        return "serial, in this process" if self.target is None else self.target.describe()

    def __enter__(self) -> Compute:
        if self.target is None:
            return self
        distributed = require_distributed()
        # Dask logs its own start-up and shut-down at INFO; keep warnings about our tasks
        # only (restored on close). `-v` on the command line does not change this.
        dlog = logging.getLogger("distributed")
        self._log_level = dlog.level
        dlog.setLevel(logging.ERROR if self.target.kind == "local" else logging.WARNING)
        try:
            if self.target.kind == "local":
                import dask

                with dask.config.set({"distributed.nanny.pre-spawn-environ": _worker_environ()}):
                    self.cluster = distributed.LocalCluster(
                        n_workers=self.target.n_workers,
                        threads_per_worker=1,
                        processes=True,
                        dashboard_address=self.dashboard_address,
                        silence_logs=logging.ERROR,  # closing workers warn; our log says what ran
                    )
                self.client = distributed.Client(self.cluster)
                self.client.register_plugin(_torch_threads_plugin(self.torch_threads))
            else:
                self.client = distributed.Client(self.target.address, timeout="20s")
        except BaseException:
            self.close()
            raise
        self.executor = self.client.get_executor(retries=self.retries, pure=False)
        log.info("%s: dashboard %s", self.describe(), self.dashboard_link)
        return self

    def close(self) -> None:
        """Close the client (and the LocalCluster this object started)."""
        if self.client is not None:
            self.client.close()
        if self.cluster is not None:
            self.cluster.close()
        self.client = self.cluster = self.executor = None
        if self._log_level is not None:
            logging.getLogger("distributed").setLevel(self._log_level)
            self._log_level = None

    def __exit__(self, *exc: Any) -> None:
        self.close()
