"""Convergence studies of the Hankel transform: exact pairs, method × qT error tables,
and b-grid scans. Used by ``sidislab integrate-demo``, notebook 01 and the benchmarks.

Exact pairs (physics.md §6):

    ∫₀^∞ db b J0(qT b) e^{−a b²} = e^{−qT²/(4a)} / (2a)
    ∫₀^∞ db b J0(qT b) e^{−c b}  = c / (c² + qT²)^{3/2}
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import torch

from sidislab.numerics.bgrid import BGrid, named_grid
from sidislab.numerics.integrate import GridHankel, OgataHankel


@dataclass(frozen=True)
class ExactPair:
    """A function F(b) and its exact transform I(qT) = ∫ db b J0(qT b) F(b)."""

    name: str
    F: Callable[[torch.Tensor], torch.Tensor]
    transform: Callable[[torch.Tensor], torch.Tensor]
    b_scale: float  # GeV⁻¹: the width of F in b

    @property
    def sigma0(self) -> float:
        """The transform at qT = 0."""
        return float(self.transform(torch.zeros((), dtype=torch.float64)))


def gaussian_pair(a: float) -> ExactPair:
    """F = e^{−a b²} (a in GeV²)."""
    return ExactPair(
        f"gauss(a={a:g})",
        lambda b: torch.exp(-a * b * b),
        lambda q: torch.exp(-q * q / (4 * a)) / (2 * a),
        a**-0.5,
    )


def exponential_pair(c: float) -> ExactPair:
    """F = e^{−c b} (c in GeV)."""
    return ExactPair(
        f"exp(c={c:g})",
        lambda b: torch.exp(-c * b),
        lambda q: c / (c * c + q * q) ** 1.5,
        1.0 / c,
    )


# (label, how to build the transform) for the error tables
METHODS: dict[str, tuple[str, dict]] = {
    "trapezoid (default grid)": ("grid", {"grid": "default", "rule": "trapezoid"}),
    "simpson (default grid)": ("grid", {"grid": "default", "rule": "simpson"}),
    "trapz-b (old [0.01,2]×256)": ("grid", {"grid": "old-default", "rule": "trapezoid-b"}),
    "ogata (tol 1e-10)": ("ogata", {"tol": 1e-10}),
}


def transform(
    pair: ExactPair,
    qT: torch.Tensor,
    method: str,
    *,
    grid: BGrid | str = "default",
    rule: str = "trapezoid",
    tol: float = 1e-10,
) -> torch.Tensor:
    """The transform of ``pair.F`` at ``qT`` by ``method`` ("grid" or "ogata")."""
    if method == "grid":
        g = named_grid(grid) if isinstance(grid, str) else grid
        gh = GridHankel(qT, g, rule)
        return gh(pair.F(gh.b).expand(len(qT), -1), with_error=False).value
    if method == "ogata":
        o = OgataHankel(qT, tol=tol, b_scale=min(0.1, pair.b_scale), b_max=40 * pair.b_scale)
        return o(pair.F, with_error=False).value
    raise ValueError(f"unknown method {method!r} (allowed: grid, ogata)")


def error_table(
    pair: ExactPair,
    qT_values: Sequence[float],
    methods: Iterable[str] = tuple(METHODS),
) -> list[dict[str, float | str]]:
    """Relative error of each method at each qT: rows {method, qT, value, exact, rel_error}."""
    qT = torch.tensor(list(qT_values), dtype=torch.float64)
    exact = pair.transform(qT)
    rows: list[dict[str, float | str]] = []
    for label in methods:
        kind, kwargs = METHODS[label]
        value = transform(pair, qT, kind, **kwargs)
        for q, v, e in zip(qT.tolist(), value.tolist(), exact.tolist()):
            rows.append({"method": label, "qT": q, "value": v, "exact": e, "rel_error": v / e - 1})
    return rows


def grid_scan(
    pairs: Sequence[ExactPair],
    grids: Sequence[BGrid],
    qT: torch.Tensor,
    rule: str = "trapezoid",
    threshold: float = 1e-3,
) -> list[dict[str, float | str | int]]:
    """Worst errors of each grid over pairs and qT (the default-grid criterion).

    Per grid: the max relative error where exact > ``threshold``·σ0 and the max absolute
    error relative to σ0 elsewhere.
    """
    out = []
    for g in grids:
        worst_rel = worst_abs = 0.0
        gh = GridHankel(qT, g, rule)  # the J0 kernel once per grid, for every pair
        for p in pairs:
            ex = p.transform(qT)
            val = gh(p.F(gh.b).expand(len(qT), -1), with_error=False).value
            big = ex > threshold * p.sigma0
            if big.any():
                worst_rel = max(worst_rel, float((val / ex - 1).abs()[big].max()))
            if (~big).any():
                worst_abs = max(worst_abs, float(((val - ex).abs()[~big]).max() / p.sigma0))
        out.append(
            {
                "grid": g.describe(),
                "Nb": g.Nb,
                "rule": rule,
                "max_rel_error": worst_rel,
                "max_abs_error_over_sigma0": worst_abs,
            }
        )
    return out
