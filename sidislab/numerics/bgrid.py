"""b-grids (GeV⁻¹) with quadrature weights for ∫ db g(b).

A grid is uniform in a variable u with b = b(u): ``log`` (u = ln b), ``linear`` (u = b)
or ``loglinear`` (b = s·ln(1 + eᵘ): logarithmic below the scale s, linear above it, which
resolves the oscillations of J0(qT b) at large b without wasting nodes at small b). The
weights are the composite trapezoid or Simpson weights *in u* times the Jacobian db/du,
so that for a smooth g the rule converges as it does on a uniform grid.

``rule="trapezoid-b"`` gives the plain trapezoid in b on the same nodes (what
``torch.trapz(g, b)`` does, and what the old reference code did on its log grid); it is
kept for comparison with the old numbers.

The contribution of [0, b_min] is neglected: for ∫ db b J0(qT b) F(b) it is
≈ F(0) b_min²/2, i.e. relative ≈ b_min²/(2 ∫ b F) — 5e-7 for b_min = 1e-3 GeV⁻¹ and a
MAP22-like F. See physics.md §6 for why b_max must reach 10–20 GeV⁻¹.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property

import torch

SPACINGS = ("log", "linear", "loglinear")
RULES = ("trapezoid", "simpson", "trapezoid-b")

NAMED_GRIDS: dict[str, dict[str, float | int | str]] = {
    # The package default, chosen by the convergence study (notebooks/01, tests/
    # test_integrate.py): log spacing below 3 GeV⁻¹, linear above, up to 72 GeV⁻¹ so
    # that e^{−0.22 b} has decayed; 193 nodes (odd, so that halving keeps the ends).
    # Measured: ≤ 1e-5 relative on the Gaussian and exponential pairs of physics.md §6
    # for widths a ∈ [0.05, 2] GeV², qT ≤ 3 GeV, with fewer nodes than the old 256.
    "default": {"b_min": 1e-3, "b_max": 72.0, "Nb": 193, "spacing": "loglinear", "scale": 3.0},
    # The old reference code's grid: [0.01, 2] GeV⁻¹ × 256 log nodes. Too short in b:
    # off by −30 % … +110 % on the reference integrands (physics.md §6). For teaching.
    "old-default": {"b_min": 1e-2, "b_max": 2.0, "Nb": 256, "spacing": "log"},
    # A wide log grid as in the reference's L_widegrid: [1e-3, 20] GeV⁻¹ × 256.
    "wide-log": {"b_min": 1e-3, "b_max": 20.0, "Nb": 256, "spacing": "log"},
}


def _log_expm1(t: float) -> float:
    """ln(e^t − 1), the inverse of softplus, stable for small and large t."""
    return t + math.log(-math.expm1(-t))


def _uniform_weights(n: int, rule: str, dtype: torch.dtype) -> torch.Tensor:
    """Composite weights on n uniform nodes of unit spacing.

    Simpson needs an even number of intervals; with an odd number of intervals the last
    three use Simpson's 3/8 rule, keeping fourth-order accuracy.
    """
    if n < 2:
        raise ValueError(f"a b-grid needs at least 2 nodes, got {n}")
    w = torch.ones(n, dtype=dtype)
    if rule == "trapezoid" or n < 3:
        w[0] = w[-1] = 0.5
        return w
    intervals = n - 1
    m = intervals if intervals % 2 == 0 else intervals - 3  # intervals covered by Simpson
    w = torch.zeros(n, dtype=dtype)
    if m > 0:
        ws = torch.ones(m + 1, dtype=dtype)
        ws[1:-1:2] = 4.0
        ws[2:-1:2] = 2.0
        w[: m + 1] += ws / 3.0
    if m < intervals:
        w[m : m + 4] += torch.tensor([3.0, 9.0, 9.0, 3.0], dtype=dtype) / 8.0
    return w


@dataclass(frozen=True)
class BGrid:
    """Nodes b_j (GeV⁻¹) on [b_min, b_max], uniform in u = ``spacing`` variable.

    ``scale`` is the crossover s of the ``loglinear`` spacing (ignored otherwise).
    """

    b_min: float
    b_max: float
    Nb: int
    spacing: str = "log"
    scale: float = 1.0

    def __post_init__(self) -> None:
        if self.spacing not in SPACINGS:
            raise ValueError(f"BGrid: spacing {self.spacing!r} not in {SPACINGS}")
        if not (math.isfinite(self.b_min) and math.isfinite(self.b_max)):
            raise ValueError(f"BGrid: b_min, b_max must be finite, got {self.b_min}, {self.b_max}")
        if self.b_min < 0 or (self.spacing == "log" and self.b_min <= 0):
            raise ValueError(f"BGrid: b_min must be > 0 for a log grid, got {self.b_min}")
        if self.b_max <= self.b_min:
            raise ValueError(f"BGrid: b_max = {self.b_max} must exceed b_min = {self.b_min}")
        if int(self.Nb) != self.Nb or self.Nb < 2:
            raise ValueError(f"BGrid: Nb must be an integer >= 2, got {self.Nb}")
        if self.scale <= 0:
            raise ValueError(f"BGrid: scale must be > 0, got {self.scale}")

    # u ↔ b maps --------------------------------------------------------------------------
    def _u_range(self) -> tuple[float, float]:
        if self.spacing == "log":
            return math.log(self.b_min), math.log(self.b_max)
        if self.spacing == "linear":
            return self.b_min, self.b_max
        return _log_expm1(self.b_min / self.scale), _log_expm1(self.b_max / self.scale)

    def _b_of_u(self, u: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if self.spacing == "log":
            b = torch.exp(u)
            return b, b
        if self.spacing == "linear":
            return u, torch.ones_like(u)
        # softplus map: b = s ln(1 + e^u), db/du = s σ(u)
        return self.scale * torch.nn.functional.softplus(u), self.scale * torch.sigmoid(u)

    @cached_property
    def _nodes(self) -> tuple[torch.Tensor, torch.Tensor, float]:
        u0, u1 = self._u_range()
        u = torch.linspace(u0, u1, int(self.Nb), dtype=torch.float64)
        b, jac = self._b_of_u(u)
        # pin the ends exactly (exp/log round trips move them by an ulp)
        b[0], b[-1] = self.b_min, self.b_max
        return b, jac, (u1 - u0) / (int(self.Nb) - 1)

    def nodes(
        self, dtype: torch.dtype = torch.float64, device: torch.device | str = "cpu"
    ) -> torch.Tensor:
        """The nodes b_j, shape [Nb]."""
        return self._nodes[0].to(dtype=dtype, device=device)

    def weights(
        self,
        rule: str = "trapezoid",
        dtype: torch.dtype = torch.float64,
        device: torch.device | str = "cpu",
    ) -> torch.Tensor:
        """Weights w_j with ∫_{b_min}^{b_max} g(b) db ≈ Σ_j w_j g(b_j), shape [Nb]."""
        if rule not in RULES:
            raise ValueError(f"unknown quadrature rule {rule!r} (allowed: {', '.join(RULES)})")
        b, jac, du = self._nodes
        if rule == "trapezoid-b":
            db = torch.diff(b)
            w = torch.zeros_like(b)
            w[:-1] += db / 2
            w[1:] += db / 2
        else:
            w = _uniform_weights(int(self.Nb), rule, torch.float64) * du * jac
        return w.to(dtype=dtype, device=device)

    def coarse_weights(
        self,
        rule: str = "trapezoid",
        dtype: torch.dtype = torch.float64,
        device: torch.device | str = "cpu",
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Indices and weights of the halved grid (every other node), for error estimates.

        With Nb odd the halved grid is the same kind of grid with (Nb + 1)/2 nodes. With Nb
        even the last node is appended and the halved rule is the trapezoid in u on those
        (no longer uniform) nodes.
        """
        n = int(self.Nb)
        if n % 2 == 1:
            coarse = BGrid(self.b_min, self.b_max, (n + 1) // 2, self.spacing, self.scale)
            idx = torch.arange(0, n, 2)
            return idx.to(device), coarse.weights(rule, dtype, device)
        idx = torch.cat([torch.arange(0, n, 2), torch.tensor([n - 1])])
        u0, _ = self._u_range()
        _, jac, du = self._nodes
        u = u0 + du * idx.to(torch.float64)
        du_i = torch.diff(u)
        w = torch.zeros(len(idx), dtype=torch.float64)
        w[:-1] += du_i / 2
        w[1:] += du_i / 2
        return idx.to(device), (w * jac[idx]).to(dtype=dtype, device=device)

    def describe(self) -> str:
        extra = f", s = {self.scale:g}" if self.spacing == "loglinear" else ""
        return f"{self.spacing} grid [{self.b_min:g}, {self.b_max:g}] GeV⁻¹ × {self.Nb}{extra}"


def named_grid(name: str) -> BGrid:
    """A grid by name: ``default``, ``old-default`` or ``wide-log``."""
    try:
        spec = NAMED_GRIDS[name]
    except KeyError:
        raise ValueError(
            f"unknown b-grid name {name!r} (allowed: {', '.join(NAMED_GRIDS)})"
        ) from None
    return BGrid(**spec)  # type: ignore[arg-type]


def from_config(cfg) -> BGrid:
    """Build the grid described by a :class:`sidislab.config.BGridConfig`."""
    if cfg.name is not None and cfg.b_min is None:
        grid = named_grid(cfg.name)
        return grid
    return BGrid(cfg.b_min, cfg.b_max, cfg.Nb, cfg.spacing)
