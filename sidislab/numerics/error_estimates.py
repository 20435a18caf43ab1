r"""Error estimates of a Hankel-transform quadrature that bound the true error, or say so.

    I(qT) = ∫₀^∞ db b J0(qT b) F(b)                                  (physics.md §9)

A rule on nodes b_0 < … < b_{n−1} makes three errors; each gets its own term, and the
estimate is their sum:

* **discretisation** — the same rule on every other node (grid halving; for Ogata h vs
  h/2): |I_h − I_{2h}|; for grids whose halved grid halves again, the larger of that and
  |I_{2h} − I_{4h}|/4 (a kink of F — the luminosity's charm threshold — converges as h²
  with a coefficient that depends on where the nodes fall, so one halving can agree by
  chance), the latter only where the quartered grid itself has ≥ 2 (Simpson on fixed
  grids: 3, ``integrate.QUARTER_NODES_PER_PERIOD``) nodes per period of J0 (else it is
  aliasing noise, not an estimate: then 4|I_h − I_{2h}| (Simpson: 2); with 2 a
  COMPASS point of data/kinematics/sidis_mix.yaml, qT = 2.1 GeV, was still 15 % under,
  tests/test_error_estimates.py). For the spectrally converging trapezoid rule this is the error of the
  *coarse* sum, many times the error of I_h: conservative by construction. It says
  nothing when the halved rule has the same nodes (n = 2) or too few to be a rule (n < 5):
  then the term is Σ_j |w_j k_j F_j| (the whole result is uncertain) and the point is
  flagged.
* **truncation** beyond the last node B = b_{n−1} — a halved grid stops at the same B and
  cannot see it. Bound: |F| continued from the last two nodes as an exponential of decay
  length λ = (B − b_{n−2}) / ln|F_{n−2}/F_{n−1}| (a Gaussian decays faster, so this
  overestimates its tail), |J0(x)| ≤ min(1, √(2/(πx))) (checked against scipy on
  [0, 2000]):

      |∫_B^∞ b J0(qT b) F(b) db| ≤ |F(B)| · env(qT B) · λ (B + λ).

  Where |F| does not decrease over the last interval the tail is unbounded as far as the
  nodes can tell: λ is set to B and the point is flagged.
* **head** [0, b_0]: the grid rules add F(b_0) b_0²/2 (or nothing, ``trapezoid-b``); the
  neglected variation of J0 F there is ≤ b_0²/2 · (|F_0| (qT b_0)²/4 + |F_1 − F_0| b_0/(b_1 − b_0)),
  plus the trapezoid's Euler–Maclaurin end term of the first interval (:func:`head_bound`).

**Resolution flag** (aliasing): where the contributions matter, a grid with fewer than
``NODES_PER_PERIOD`` = 4 nodes per period 2π/qT of J0 may alias in both the fine and the
halved sum alike, so that their difference is small while both are wrong; such points
are flagged. "Matter" means w_j b_j |F_j| env(qT b_j) ≥ 1e-10 of its sum over j.

**Resolution flag** (F): where the mass per node, Δb_j b_j |F_j| env(qT b_j), jumps by
more than ``MAX_JUMP`` = 1/2 of its maximum between neighbours, the grid does not
resolve F (a 5- or 9-node grid on [10⁻³, 72]): halving it says nothing, flagged.

A flagged point still gets the estimate above (the best the nodes allow), but its
reliability is not established: callers warn (:class:`AccuracyWarning`).
"""

from __future__ import annotations

import math

import torch

from sidislab.numerics.bessel import j0

NODES_PER_PERIOD = 4
MIN_NODES = 5
RELEVANT = 1e-10
MAX_JUMP = 0.5


class AccuracyWarning(UserWarning):
    """A quadrature result whose error estimate is not known to bound its error."""


def j0_envelope(x: torch.Tensor) -> torch.Tensor:
    """min(1, √(2/(π x))) ≥ |J0(x)| for x ≥ 0."""
    return torch.clamp(torch.sqrt(2.0 / (math.pi * torch.clamp(x, min=1e-300))), max=1.0)


def _expand_like(t: torch.Tensor, F: torch.Tensor) -> torch.Tensor:
    """Broadcast a per-point tensor [N] or [N, n] against F [N, ..., n] / [N, ...]."""
    extra = F.dim() - t.dim()
    if t.dim() == 1:
        return t.reshape(t.shape[0], *([1] * extra))
    return t.reshape(t.shape[0], *([1] * extra), t.shape[-1])


def tail_bound(
    b_end: torch.Tensor,
    b_prev: torch.Tensor,
    F_end: torch.Tensor,
    F_prev: torch.Tensor,
    qT: torch.Tensor,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Bound of |∫_B^∞ b J0(qT b) F db| from the last two nodes, and a 'not decaying' flag.

    ``b_end``, ``b_prev``, ``qT``: [N]; ``F_end``, ``F_prev``: [N, ...]. Returns the bound
    and the flag, both [N, ...].
    """
    B = _expand_like(b_end, F_end)
    db = B - _expand_like(b_prev, F_end)
    a_end, a_prev = F_end.abs(), F_prev.abs()
    decaying = (a_prev > a_end) | (a_end == 0)
    ratio = torch.where(a_end > 0, a_prev / torch.where(a_end > 0, a_end, 1.0), 2.0)
    lam = db / torch.log(torch.clamp(ratio, min=1.0 + 1e-15))
    lam = torch.where(decaying, lam, B.expand_as(lam))
    env = _expand_like(j0_envelope(qT * b_end), F_end)
    bound = a_end * env * lam * (B + lam)
    return bound, ~decaying


def head_bound(
    b0: torch.Tensor,
    b1: torch.Tensor,
    F0: torch.Tensor,
    F1: torch.Tensor,
    qT: torch.Tensor,
    *,
    head_added: bool = True,
) -> torch.Tensor:
    """Bound of the error at the lower end: the head term for ∫_0^{b_0} (F(b_0) b_0²/2,
    or 0 without), plus the trapezoid's Euler–Maclaurin end term (Δu²/12) g′(u_0) of the
    first interval, with g = b J0 F · db/du in both forms of the spacing (log: u = ln b;
    linear: u = b) — the larger is kept. Without it a log grid starting at b_0 has an
    O(Δu² b_0² F) error that no halving of the same grid can see as other than
    second-order noise (1e-5 relative at qT = 3 GeV for b_0 = 1e-3)."""
    b0e, b1e, qe = (_expand_like(t, F0) for t in (b0, b1, qT))
    var = F0.abs() * (qe * b0e) ** 2 / 4 + (F1 - F0).abs() * b0e / (b1e - b0e)
    out = b0e**2 / 2 * var
    g0 = b0e * j0(qe * b0e) * F0
    g1 = b1e * j0(qe * b1e) * F1
    lin = (b1e - b0e) / 12 * (g1 - g0).abs()
    du = torch.log(b1e / torch.where(b0e > 0, b0e, b1e))
    log_form = torch.where(b0e > 0, du / 12 * (b1e * g1 - b0e * g0).abs(), torch.zeros_like(lin))
    out = out + torch.maximum(lin, log_form)
    return out if head_added else out + F0.abs() * b0e**2 / 2


def unresolved(
    b: torch.Tensor,
    w: torch.Tensor,
    F: torch.Tensor,
    qT: torch.Tensor,
    nodes_per_period: float = NODES_PER_PERIOD,
    check_F: bool = True,
) -> torch.Tensor:
    """True per point [N, ...] where the nodes b [N or 1, n] (weights w, same shape) give
    fewer than ``nodes_per_period`` nodes per period of J0(qT b) where the integrand
    matters, or (``check_F``) do not resolve F (the mass per node jumps)."""
    b = b.expand(qT.shape[0], -1) if b.shape[0] == 1 else b
    w = w.expand(qT.shape[0], -1) if w.shape[0] == 1 else w
    db = torch.diff(b, dim=-1)
    db = torch.cat([db, db[:, -1:]], dim=-1)  # spacing to the right of each node
    # padded nodes (zero weight) repeat the last node: spacing 0 there, never unresolved
    coarse = qT[:, None] * db > 2 * math.pi / nodes_per_period
    mass = _expand_like(w.abs() * b * j0_envelope(qT[:, None] * b), F) * F.abs()
    relevant = mass >= RELEVANT * mass.sum(-1, keepdim=True)
    # F itself: the mass per node (spacing, not the rule's weights, which alternate for
    # Simpson) may not jump by more than half its maximum from one node to the next
    m = _expand_like(db * b * j0_envelope(qT[:, None] * b), F) * F.abs()
    jump = torch.diff(m, dim=-1).abs().amax(-1) > MAX_JUMP * m.amax(-1)
    aliased = (relevant & _expand_like(coarse, F)).any(-1)
    return aliased | jump if check_F else aliased


def absolute_sum(kernel: torch.Tensor, F: torch.Tensor) -> torch.Tensor:
    """Σ_j |kernel_j F_j| [N, ...]: the size of the terms (cancellation and n < 5 scale)."""
    return (_expand_like(kernel, F).abs() * F.abs()).sum(-1)
