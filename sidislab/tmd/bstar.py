r"""The b* prescription ("bstarmin") and the scale μ_b*.

physics.md §2 (as the old reference code and the APFEL++ reference numbers):

    b* = b_max [(1 − e^{−(b/b_max)⁴}) / (1 − e^{−(b/b_min)⁴})]^{1/4},
    b_max = b0/(1 GeV),  b_min = b_max/Q,  b0 = 2e^{−γ_E},
    μ_b* = C_i b0 / b*.

Units: b, b* in GeV⁻¹; Q, μ in GeV. b* → b_min as b → 0 and b* → b_max as b → ∞, so for
C_i = 1 the matching scale stays in [1 GeV, Q]. The formula is evaluated as

    b* = b_min [g(r_max)/g(r_min)]^{1/4},   g(r) = (1 − e^{−r})/r = −expm1(−r)/r,
    r_max = (b/b_max)⁴,  r_min = (b/b_min)⁴,

which has the analytic limit g(0) = 1 (no 0/0 at b = 0 or tiny b) and, for large r, is
replaced by the direct ratio b_max [(1 − e^{−r_max})/(1 − e^{−r_min})]^{1/4} (no ∞/∞).
"""

from __future__ import annotations

import numpy as np

from sidislab.constants import B0

B_MAX: float = B0
"""b_max = b0/(1 GeV) ≈ 1.1229 GeV⁻¹ (physics.md §2)."""

_SMALL_R = 1.0e-3  # below this r_min the g-function form is used (exact for any r > 0)


def _g(r: np.ndarray) -> np.ndarray:
    """g(r) = (1 − e^{−r})/r with g(0) = 1, accurate for tiny r (expm1)."""
    out = np.ones_like(r)
    pos = r > 0
    out[pos] = -np.expm1(-r[pos]) / r[pos]
    return out


def bstar_min(b: np.ndarray | float, Q: np.ndarray | float, b_max: float = B_MAX) -> np.ndarray:
    """b*(b, Q) of the "bstarmin" prescription (physics.md §2), in GeV⁻¹.

    ``b`` and ``Q`` broadcast against each other (e.g. b [N, Nb] with Q [N, 1]); b ≥ 0 in
    GeV⁻¹, Q > 0 in GeV. b_min = b_max/Q. Returns float64 of the broadcast shape. b = 0
    gives b_min exactly; b → ∞ gives b_max.
    """
    b_arr, q_arr = np.broadcast_arrays(
        np.asarray(b, dtype=np.float64), np.asarray(Q, dtype=np.float64)
    )
    if (b_arr < 0).any() or not np.isfinite(q_arr).all() or (q_arr <= 0).any():
        raise ValueError("bstar_min: need b >= 0 (GeV⁻¹) and finite Q > 0 (GeV)")
    b_min = b_max / q_arr
    with np.errstate(over="ignore"):
        r_max = (b_arr / b_max) ** 4
        r_min = (b_arr / b_min) ** 4
    out = np.empty_like(b_arr)
    small = r_min < _SMALL_R
    if small.any():
        out[small] = b_min[small] * (_g(r_max[small]) / _g(r_min[small])) ** 0.25
    big = ~small
    if big.any():
        num = -np.expm1(-r_max[big])
        den = -np.expm1(-r_min[big])
        out[big] = b_max * (num / den) ** 0.25
    return out


def mu_bstar(bstar: np.ndarray | float, Ci: float = 1.0) -> np.ndarray:
    """μ_b* = C_i b0/b* in GeV (physics.md §2); ``bstar`` in GeV⁻¹."""
    return Ci * B0 / np.asarray(bstar, dtype=np.float64)
