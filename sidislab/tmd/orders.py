r"""PerturbativeOrder codes and what each keeps (APFEL++ conventions, physics.md §4.1).

APFEL++ (``inc/apfel/constants.h``: LL 0, NLL 1, NNLL 2, NNNLL 3, NLLp −1, NNLLp −2; the
switches of ``src/tmds/tmdbuilder.cc`` ``MatchingFunctionsPDFs``, ``QuarkEvolutionFactor``
and ``HardFactor``):

| code | name  | evolution (γ_K, γ_F, K loops) | matching | hard factor |
|-----:|-------|-------------------------------|----------|-------------|
|  0   | LL    | 1, 0, 0                       | LO       | 1           |
|  1   | NLL   | 2, 1, 1                       | LO       | 1           |
| −1   | NLL′  | 2, 1, 1 (as NLL)              | NLO      | 1 + a_s     |
|  2   | NNLL  | 3, 2, 2                       | NLO      | 1 + a_s     |
| −2   | NNLL′ | 3, 2, 2 (as NNLL)             | NNLO     | up to a_s²  |
|  3   | N³LL  | 4, 3, 3                       | NNLO     | up to a_s²  |

A primed order keeps the evolution of its unprimed partner and takes matching and hard
factor one order higher. N³LL′ (−3) needs the N³LO matching and is not provided.
"""

from __future__ import annotations

from sidislab.errors import NotYetImplementedOrder

ORDER_NAMES: dict[int, str] = {0: "LL", 1: "NLL", -1: "NLL'", 2: "NNLL", -2: "NNLL'", 3: "N3LL"}
"""The orders the native engine computes, by APFEL++ code."""

_EVOLUTION = {0: 0, 1: 1, -1: 1, 2: 2, -2: 2, 3: 3}
_FIXED = {0: 0, 1: 0, -1: 1, 2: 1, -2: 2, 3: 2}


def check_order(order: object, key: str = "PerturbativeOrder") -> int:
    """Validate a PerturbativeOrder; a one-line error names ``key`` and the allowed values."""
    allowed = ", ".join(f"{k} ({v})" for k, v in sorted(ORDER_NAMES.items()))
    if isinstance(order, bool) or not isinstance(order, (int, float)) or int(order) != order:
        raise ValueError(f"{key}: {order!r} is not an integer (allowed: {allowed})")
    order = int(order)
    if order in ORDER_NAMES:
        return order
    if order in (-3, 4):
        raise NotYetImplementedOrder(
            f"{key}: {order} ({'N3LL' if order == -3 else 'N4LL'}) needs N3LO matching, "
            f"which the native engine does not provide (allowed: {allowed})"
        )
    raise ValueError(f"{key}: {order} is not allowed (allowed: {allowed})")


def evolution_loops(order: int) -> int:
    """n such that γ_K keeps n + 1 loops and γ_F, K keep n (LL 0, NLL/NLL′ 1, NNLL/NNLL′ 2, N³LL 3)."""
    return _EVOLUTION[check_order(order)]


def matching_order(order: int) -> int:
    """Powers of a_s kept in the matching coefficients: 0 (LO), 1 (NLO) or 2 (NNLO)."""
    return _FIXED[check_order(order)]


def hard_order(order: int) -> int:
    """Powers of a_s kept in the hard factor: 0, 1 or 2 (same as the matching)."""
    return _FIXED[check_order(order)]
