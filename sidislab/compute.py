"""Where work runs: map a pure task over chunks, serially in this process (the default) or
on an executor (a ``concurrent.futures`` pool, a Dask ``Client``'s executor).

This is the one place that knows how tasks are dispatched; it knows no physics. The
luminosity-cache builds, the fit replicas and the notebook sweeps are written as pure
functions of (settings, chunk) → result and call :func:`map_tasks`; the caller merges the
results (the cache under its key, the replicas one file each).

Results come back **in task order** whatever the order they finish in, so a merge is
deterministic and a parallel build is bit-identical to the serial one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Executor
from typing import Any, TypeVar

__all__ = ["chunk_slices", "map_tasks"]

T = TypeVar("T")


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
