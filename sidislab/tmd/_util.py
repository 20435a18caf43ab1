"""Small numerical helpers shared by the TMD engine (not public API)."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass

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


@dataclass(frozen=True)
class ConvolutionNodes:
    """Quadrature of ∫_x^1 dy … for an array of x (any shape; the Gauss axis is last).

    y = x^s with s Gauss–Legendre on [0, 1] (``squared``: s = u², u Gauss–Legendre, which
    makes the ln^k(1 − y) of two-loop kernels at y → 1 integrable-smooth). Points with
    x ≥ 1 get zero weights (and x/y = 1, where every distribution vanishes).
    """

    xy: np.ndarray  # [..., Ng] x/y
    y: np.ndarray  # [..., Ng]
    jac: np.ndarray  # [..., Ng] weights of dy = |ln x| y ds
    sing: np.ndarray  # [..., Ng] weights of dy/(1 − y)
    lsing: np.ndarray  # [..., Ng] weights of dy ln(1 − y)/(1 − y)
    ln1mx: np.ndarray  # [...] ln(1 − x), 0 for x ≥ 1


def convolution_nodes(x: np.ndarray, n_gauss: int, squared: bool = False) -> ConvolutionNodes:
    """The nodes and weights of :class:`ConvolutionNodes` for momentum fractions ``x``."""
    x = np.asarray(x, dtype=np.float64)
    u, wu = gauss_legendre(n_gauss)
    s, w = (u * u, 2.0 * u * wu) if squared else (u, wu)
    inner = x < 1.0
    with np.errstate(divide="ignore"):
        lx = np.where(inner, np.log(np.where(inner, x, 0.5)), 0.0)  # ≤ 0
    y = np.where(inner[..., None], np.exp(lx[..., None] * s), 0.5)
    xy = np.exp(lx[..., None] * (1.0 - s))
    jac = -lx[..., None] * w * y
    omy = 1.0 - y
    with np.errstate(divide="ignore", invalid="ignore"):
        sing = np.where(inner[..., None] & (omy > 0.0), jac / omy, 0.0)
        lsing = np.where(sing != 0.0, sing * np.log(np.where(omy > 0.0, omy, 1.0)), 0.0)
    ln1mx = np.where(inner, np.log1p(-np.where(inner, x, 0.0)), 0.0)
    return ConvolutionNodes(xy, y, jac, sing, lsing, ln1mx)
