"""Small numerical helpers shared by the TMD engine (not public API)."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence

import numpy as np


def call_vectorised(fn: Callable, *args: np.ndarray) -> np.ndarray:
    """Call ``fn`` on arrays; fall back to element-wise calls if it is scalar-only."""
    arrays = np.broadcast_arrays(*[np.asarray(a, dtype=np.float64) for a in args])
    shape = arrays[0].shape
    try:
        out = np.asarray(fn(*arrays), dtype=np.float64)
        if out.shape == shape:
            return out
    except (TypeError, ValueError):
        pass
    flat = [a.ravel() for a in arrays]
    out = np.array([float(fn(*vals)) for vals in zip(*flat)], dtype=np.float64)
    return out.reshape(shape)


def n_active(mu: np.ndarray | float, thresholds: Sequence[float]) -> np.ndarray:
    """Number of active flavours n_f(μ) = #{thresholds m with μ > m} (APFEL++ ``NF``)."""
    mu = np.asarray(mu, dtype=np.float64)
    nf = np.zeros(mu.shape, dtype=np.int64)
    for m in sorted(thresholds):
        nf += mu > m
    return nf


def gauss_legendre(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Gauss–Legendre nodes and weights on [0, 1]."""
    x, w = np.polynomial.legendre.leggauss(n)
    return 0.5 * (x + 1.0), 0.5 * w


def segment_nodes(breaks: Sequence[float], step: float, min_intervals: int = 1) -> np.ndarray:
    """Sorted nodes: every break point, and uniform nodes of spacing ≤ ``step`` between."""
    b = np.unique(np.asarray(breaks, dtype=np.float64))
    pieces = []
    for lo, hi in itertools.pairwise(b):
        n = max(min_intervals, int(np.ceil((hi - lo) / step - 1e-9)))
        pieces.append(np.linspace(lo, hi, n + 1)[:-1])
    pieces.append(b[-1:])
    return np.concatenate(pieces)
