"""Error scans of sidislab's Bessel functions against scipy and mpmath.

Used by the teaching notebook (error curves over x) and by ``benchmarks/bench_bessel.py``
(the table of maximum errors per method × dtype × range). ``physics.md`` §7: the
references are ``scipy.special.j0``/``j1`` (Cephes, double precision) and mpmath
(arbitrary precision).

Conventions:

- The points are rounded to the dtype under test first; the reference is evaluated at
  those rounded points in float64 (or with mpmath), so the error measures the function,
  not the rounding of its input.
- Absolute error, as in Cephes' own accuracy tables (J0 and J1 are bounded by 1).
- A non-finite result (the series overflows in float32) counts as an infinite error: it
  is reported, never dropped, and counted in ``n_nonfinite``.
- scipy reduces x − π/4 in plain double arithmetic, so scipy itself is off by up to
  ≈ 1.3e-15 near x ≈ 250–1000 (≈ x·2⁻⁵³ × |J0'|); an ``accurate`` error of that size
  against scipy is scipy's. ``reference="mpmath"`` separates the two (slow: use small n).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import scipy.special
import torch

from sidislab.numerics import bessel

__all__ = [
    "ErrorRow",
    "bessel_error_curve",
    "bessel_error_table",
    "format_error_table",
    "mpmath_max_error",
    "scan_points",
]

FUNCTIONS: tuple[str, ...] = ("j0", "j1")
REFERENCES: tuple[str, ...] = ("scipy", "mpmath")
DEFAULT_RANGES: tuple[tuple[float, float], ...] = ((0.0, 10.0), (0.0, 40.0), (0.0, 1000.0))


@dataclass(frozen=True)
class ErrorRow:
    """One line of :func:`bessel_error_table`.

    ``max_abs_error`` is ``inf`` when any result was non-finite (``n_nonfinite`` > 0);
    ``x_at_max`` is where the largest error (or the first non-finite value) occurred.
    """

    function: str
    method: str
    dtype: str
    x_range: tuple[float, float]
    max_abs_error: float
    x_at_max: float
    n_points: int
    n_nonfinite: int
    reference: str


def _dtype_name(dtype: torch.dtype) -> str:
    return str(dtype).removeprefix("torch.")


def _check(function: str, reference: str) -> None:
    if function not in FUNCTIONS:
        raise ValueError(f"accuracy: unknown function {function!r}; allowed: {FUNCTIONS}")
    if reference not in REFERENCES:
        raise ValueError(f"accuracy: unknown reference {reference!r}; allowed: {REFERENCES}")


def scan_points(lo: float, hi: float, n: int, dtype: torch.dtype = torch.float64) -> np.ndarray:
    """Scan points on [lo, hi], rounded to ``dtype``, returned as sorted float64.

    ``n`` equally spaced points plus every zero of J0 and of J1 (the extrema of J0) in
    the interval together with its two neighbours in ``dtype`` — where an absolute error
    is hardest to keep and where a relative one would blow up.
    """
    if not hi > lo:
        raise ValueError(f"accuracy.scan_points: empty range [{lo}, {hi}]")
    if n < 2:
        raise ValueError(f"accuracy.scan_points: n must be ≥ 2, got {n}")
    np_dtype = np.float32 if dtype in (torch.float32, torch.float16, torch.bfloat16) else np.float64
    grid = np.linspace(lo, hi, n)
    extra = []
    n_zeros = int(max(abs(lo), abs(hi)) / math.pi) + 2
    for order in (0, 1):
        zeros = scipy.special.jn_zeros(order, n_zeros)
        zeros = np.concatenate([zeros, -zeros])
        zeros = zeros[(zeros >= lo) & (zeros <= hi)].astype(np_dtype)
        extra += [
            zeros,
            np.nextafter(zeros, np_dtype(np.inf)),
            np.nextafter(zeros, np_dtype(-np.inf)),
        ]
    points = np.concatenate([grid.astype(np_dtype), *extra])
    if dtype in (torch.float16, torch.bfloat16):
        points = torch.from_numpy(points).to(dtype).float().numpy()
    points = points.astype(np.float64)
    return np.unique(points[(points >= lo) & (points <= hi)])


def _reference(function: str, x: np.ndarray, reference: str) -> np.ndarray:
    if reference == "scipy":
        return scipy.special.j0(x) if function == "j0" else scipy.special.j1(x)
    try:
        import mpmath
    except ImportError as exc:  # mpmath is a dev dependency
        raise ImportError("accuracy: reference='mpmath' needs mpmath (pip install mpmath)") from exc
    order = 0 if function == "j0" else 1
    with mpmath.workdps(30):
        return np.array([float(mpmath.besselj(order, mpmath.mpf(float(v)))) for v in x])


def _evaluate(
    function: str,
    method: str,
    x: np.ndarray,
    dtype: torch.dtype,
    device: torch.device | str,
    n_terms: int | None,
) -> np.ndarray:
    fn = bessel.j0 if function == "j0" else bessel.j1
    xt = torch.as_tensor(x, dtype=torch.float64).to(dtype=dtype, device=device)
    with torch.no_grad():
        y = fn(xt, method, n_terms=n_terms)
    return y.detach().to("cpu", torch.float64).numpy()


def _abs_error(y: np.ndarray, ref: np.ndarray) -> np.ndarray:
    err = np.abs(y - ref)
    err[~np.isfinite(y)] = np.inf
    return err


def bessel_error_curve(
    method: str | None = None,
    dtype: torch.dtype = torch.float64,
    x_range: tuple[float, float] = (0.0, 40.0),
    n: int = 10_001,
    *,
    function: str = "j0",
    device: torch.device | str = "cpu",
    n_terms: int | None = None,
    reference: str = "scipy",
) -> tuple[np.ndarray, np.ndarray]:
    """Absolute error |J(x) − J_ref(x)| of one method over ``x_range``, for plotting.

    Returns ``(x, error)``, float64 arrays over :func:`scan_points` (``n`` equispaced points
    plus the zeros of J0 and J1 and their neighbours); non-finite results give ``inf``.
    ``method=None`` uses :func:`sidislab.numerics.bessel.default_method`; ``n_terms`` goes to the
    ``series`` method.
    """
    _check(function, reference)
    if method is None:
        method = bessel.default_method(device, dtype)
    x = scan_points(x_range[0], x_range[1], n, dtype)
    y = _evaluate(function, method, x, dtype, device, n_terms)
    return x, _abs_error(y, _reference(function, x, reference))


def bessel_error_table(
    methods: Iterable[str] | None = None,
    dtypes: Iterable[torch.dtype] = (torch.float32, torch.float64),
    ranges: Sequence[tuple[float, float]] = DEFAULT_RANGES,
    n: int = 100_000,
    *,
    functions: Iterable[str] = FUNCTIONS,
    device: torch.device | str = "cpu",
    reference: str = "scipy",
) -> list[ErrorRow]:
    """Maximum absolute error per function × method × dtype × range.

    Each range is scanned with :func:`scan_points` (``n`` equispaced points plus the zeros
    of J0 and J1 with neighbours, so ≥ n points) and compared with ``reference``
    (``"scipy"``, float64, or ``"mpmath"``, 30 digits — slow, for small ``n``). Series
    errors are reported as they are: inf/NaN results make the row's error ``inf`` and are
    counted in ``n_nonfinite``. ``methods=None`` means all of
    :func:`sidislab.numerics.bessel.methods`.
    """
    for function in functions:
        _check(function, reference)
    method_list = list(bessel.methods() if methods is None else methods)
    rows: list[ErrorRow] = []
    for dtype in dtypes:
        for lo, hi in ranges:
            x = scan_points(lo, hi, n, dtype)
            for function in functions:
                ref = _reference(function, x, reference)
                for method in method_list:
                    y = _evaluate(function, method, x, dtype, device, None)
                    err = _abs_error(y, ref)
                    nonfinite = int(np.count_nonzero(~np.isfinite(y)))
                    worst = int(np.argmax(err))
                    rows.append(
                        ErrorRow(
                            function=function,
                            method=method,
                            dtype=_dtype_name(dtype),
                            x_range=(float(lo), float(hi)),
                            max_abs_error=float(err[worst]),
                            x_at_max=float(x[worst]),
                            n_points=int(x.size),
                            n_nonfinite=nonfinite,
                            reference=reference,
                        )
                    )
    return rows


def mpmath_max_error(
    method: str | None,
    xs: Sequence[float] | np.ndarray,
    dtype: torch.dtype = torch.float64,
    *,
    function: str = "j0",
    device: torch.device | str = "cpu",
) -> float:
    """Max |J(x) − J_mpmath(x)| over spot values ``xs`` (rounded to ``dtype`` first)."""
    _check(function, "mpmath")
    if method is None:
        method = bessel.default_method(device, dtype)
    x = torch.as_tensor(np.asarray(xs, dtype=np.float64)).to(dtype).to(torch.float64).numpy()
    y = _evaluate(function, method, x, dtype, device, None)
    return float(np.max(_abs_error(y, _reference(function, x, "mpmath"))))


def format_error_table(rows: Iterable[ErrorRow]) -> str:
    """The rows of :func:`bessel_error_table` as a fixed-width text table."""
    lines = [
        f"{'function':<8} {'method':<9} {'dtype':<8} {'range':<12} {'max abs err':>12} "
        f"{'at x':>10} {'points':>7} {'non-finite':>10}"
    ]
    for r in rows:
        rng = f"[{r.x_range[0]:g}, {r.x_range[1]:g}]"
        lines.append(
            f"{r.function:<8} {r.method:<9} {r.dtype:<8} {rng:<12} {r.max_abs_error:>12.3g} "
            f"{r.x_at_max:>10.4g} {r.n_points:>7} {r.n_nonfinite:>10}"
        )
    return "\n".join(lines)
