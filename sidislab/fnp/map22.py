"""MAP22 non-perturbative functions: TMD PDF, TMD FF and the shared evolution factor.

The parametrisation of the non-perturbative part of the TMDs in the MAP22 analysis
(Bacchetta et al., arXiv:2206.07598; transcribed in ``physics.md`` §5), as pure, batched,
differentiable torch functions. Parameters are tensors whose last axis runs over the
parameters in the order of :data:`PDF_PARAMETER_NAMES` / :data:`FF_PARAMETER_NAMES`; the
leading axes broadcast against the kinematic tensors, so one call evaluates any number of
points, b-nodes and flavour parameter sets. The parameter storage (free masks, flavours,
YAML) is :class:`sidislab.fnp.model.FNP`.

Evolution factor, shared by PDF and FF (Q0² = 1 GeV², g2 in GeV, b in GeV⁻¹)::

    E(b, ζ) = exp[−g2² b² ln(ζ/Q0²)/4]

TMD PDF, x̂ = 0.1, g_i(x) = N_i (x/x̂)^{σ_i} ((1−x)/(1−x̂))^{α_i²} (GeV²) for
(N1, σ1, α1), (N1B, σ2, α2), (N1C, σ3, α3)::

    fNP = [g1 e^{−g1 b²/4} + λ² g1B² (1 − g1B b²/4) e^{−g1B b²/4} + λ2² g1C e^{−g1C b²/4}]
          / [g1 + λ² g1B² + λ2² g1C] × E(b, ζ)

TMD FF, ẑ = 0.5, g3(z) = N3 (z^{β1} + δ1²)/(ẑ^{β1} + δ1²) ((1−z)/(1−ẑ))^{γ1²}, g3B likewise
with (N3B, β2, δ2, γ2)::

    DNP = [g3 e^{−g3 b²/(4z²)} + (λF/z²) g3B² (1 − g3B b²/(4z²)) e^{−g3B b²/(4z²)}]
          / [g3 + (λF/z²) g3B²] × E(b, ζ)

Parameter safety
----------------
A fit may move parameters anywhere. For *every finite parameter vector* the functions
return finite values with finite gradients (on the kinematic domain 0 < x, z < 1, b ≥ 0,
ζ > 0), and at physical parameters they equal the published formula to rounding:

1. Every parameter is clipped to ``|p| ≤`` :data:`PARAMETER_BOUND` (1e6) so that squares
   cannot overflow; beyond it the gradient is zero (finite). Published values are O(0.01–10).
2. Widths enter in log space, ``ln g = ln|N|_ε + σ ln(x/x̂) + α² ln((1−x)/(1−x̂))``, with the
   smooth absolute value ``|N|_ε = sqrt(N² + ε²)``, ε = :data:`EPS` = 1e-10. The
   normalisations N1, N1B, N1C, N3, N3B and the FF weight λF are positive in MAP22; a
   negative value acts as its absolute value, zero as ε (relative change at the published
   values: ε²/(2N²) < 1e-17). The FF ratio (z^β + δ²)/(ẑ^β + δ²) is evaluated as
   ``logaddexp(β ln z, ln(δ² + ε²)) − logaddexp(β ln ẑ, ln(δ² + ε²))``: no over- or
   underflow, no 0/0 for δ = 0.
3. ``ln g`` is capped smoothly at :data:`LOG_CAP` = 40 (:func:`smooth_cap`) so that g b²
   stays finite; the cap changes ln g by softplus(ln g − 40) ≈ e^{ln g − 40}, i.e. by
   nothing at physical widths (|ln g| ≲ 20). The evolution exponent is used as is where
   it is ≤ 0 (ζ ≥ Q0²) and saturated as c tanh(t/c), c = :data:`EVOLUTION_CAP`, where it
   is positive (ζ < Q0², growing factor).
4. The ratio num/den is evaluated as the weighted mean Σ_k w_k h_k with
   ``w = softmax(ln c_k)``, c = (g1, λ² g1B², λ2² g1C) for the PDF and (g3, (λF/z²) g3B²)
   for the FF, and ``ln λ² → ln(λ² + ε²)``. This is algebraically the published ratio,
   but no denominator is left to vanish; the weights lie in [0, 1], so |fNP| ≤ E(b, ζ).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor
from torch.nn import functional as F

__all__ = [
    "EPS",
    "EVOLUTION_CAP",
    "FF_PARAMETER_NAMES",
    "FF_TERM_SLOPES",
    "LOG_CAP",
    "PARAMETER_BOUND",
    "PDF_PARAMETER_NAMES",
    "PDF_TERM_SLOPES",
    "Q0_SQUARED",
    "SIGN_FREE_NAMES",
    "X_HAT",
    "Z_HAT",
    "evolution_factor",
    "evolution_width",
    "ff_terms",
    "map22_ff",
    "map22_pdf",
    "pdf_terms",
    "smooth_abs",
    "smooth_cap",
]

X_HAT: float = 0.1
"""Reference x̂ of the MAP22 TMD PDF widths (arXiv:2206.07598; physics.md §5)."""
Z_HAT: float = 0.5
"""Reference ẑ of the MAP22 TMD FF widths (arXiv:2206.07598; physics.md §5)."""
Q0_SQUARED: float = 1.0
"""Q0² = 1 GeV², the reference scale of the evolution factor (physics.md §5)."""

PDF_PARAMETER_NAMES: tuple[str, ...] = (
    "N1",
    "alpha1",
    "sigma1",
    "lambda",
    "N1B",
    "N1C",
    "lambda2",
    "alpha2",
    "alpha3",
    "sigma2",
    "sigma3",
)
"""The 11 MAP22 TMD PDF parameters, in the order of the parameter tensors' last axis."""

FF_PARAMETER_NAMES: tuple[str, ...] = (
    "N3",
    "beta1",
    "delta1",
    "gamma1",
    "lambdaF",
    "N3B",
    "beta2",
    "delta2",
    "gamma2",
)
"""The 9 MAP22 TMD FF parameters, in the order of the parameter tensors' last axis."""

SIGN_FREE_NAMES: frozenset[str] = frozenset(
    {"g2", "N1", "alpha1", "lambda", "N1B", "N1C", "lambda2", "alpha2", "alpha3"}
    | {"N3", "delta1", "gamma1", "lambdaF", "N3B", "delta2", "gamma2"}
)
"""Parameters that enter only through |p| or p² (the model is unchanged under p → −p);
σ_i and β_i enter linearly and keep their sign."""

PARAMETER_BOUND: float = 1.0e6
"""Every parameter is clipped to [−bound, bound] before use (see the module docstring)."""
EPS: float = 1.0e-10
"""ε of the smooth absolute value sqrt(p² + ε²) and of ln(p² + ε²)."""
LOG_CAP: float = 40.0
"""Smooth upper cap on ln g, g in GeV² (g ≤ e⁴⁰ ≈ 2e17 GeV²)."""
EVOLUTION_CAP: float = 10.0
"""Saturation of a positive evolution exponent (ζ < Q0² only): the factor stays < e¹⁰."""

_LN_X_HAT = math.log(X_HAT)
_LN_1MX_HAT = math.log1p(-X_HAT)
_LN_Z_HAT = math.log(Z_HAT)
_LN_1MZ_HAT = math.log1p(-Z_HAT)
_LN_Q0_SQUARED = math.log(Q0_SQUARED)


def smooth_abs(p: Tensor, eps: float = EPS) -> Tensor:
    """Smooth absolute value sqrt(p² + ε²) ≥ ε: positive, differentiable everywhere.

    Equals |p| to relative precision ε²/(2p²); used for the MAP22 normalisations.
    """
    return torch.sqrt(p * p + eps * eps)


def smooth_cap(t: Tensor, cap: float = LOG_CAP) -> Tensor:
    """Smooth minimum of ``t`` and ``cap``: t − softplus(t − cap) = cap − softplus(cap − t).

    Both forms are equal; each branch is used where it is free of cancellation, so the
    result is exact (t) far below the cap, tends to ``cap`` from below for t → ∞, and has
    the finite derivative sigmoid(cap − t) ∈ (0, 1) everywhere.
    """
    below = t - F.softplus(t - cap)
    above = cap - F.softplus(cap - t)
    return torch.where(t < cap, below, above)


def _clip(p: Tensor) -> Tensor:
    """Clip a parameter tensor to [−PARAMETER_BOUND, PARAMETER_BOUND] (zero gradient outside)."""
    return torch.clamp(p, -PARAMETER_BOUND, PARAMETER_BOUND)


def _log_square(p: Tensor) -> Tensor:
    """ln(p² + ε²): the log of a squared coupling, finite at p = 0."""
    return torch.log(p * p + EPS * EPS)


def _ln_pdf_width(ln_n: Tensor, sigma: Tensor, alpha: Tensor, lx: Tensor, l1x: Tensor) -> Tensor:
    """ln g_i(x) = ln N_i + σ_i ln(x/x̂) + α_i² ln((1−x)/(1−x̂)), capped (physics.md §5).

    ``lx`` = ln(x/x̂) and ``l1x`` = ln((1−x)/(1−x̂)) are precomputed.
    """
    return smooth_cap(ln_n + sigma * lx + alpha * alpha * l1x)


def _ln_ff_width(
    ln_n: Tensor, beta: Tensor, delta: Tensor, gamma: Tensor, lz: Tensor, l1z: Tensor
) -> Tensor:
    """ln g(z) = ln N + ln[(z^β + δ²)/(ẑ^β + δ²)] + γ² ln((1−z)/(1−ẑ)), capped (physics.md §5).

    ``lz`` = ln z and ``l1z`` = ln((1−z)/(1−ẑ)); the ratio is taken with ``logaddexp``.
    """
    ln_d2 = _log_square(delta)
    ratio = torch.logaddexp(beta * lz, ln_d2) - torch.logaddexp(beta * _LN_Z_HAT, ln_d2)
    return smooth_cap(ln_n + ratio + gamma * gamma * l1z)


def evolution_factor(b: Tensor, zeta: Tensor, g2: Tensor) -> Tensor:
    """MAP22 non-perturbative evolution factor exp[−g2² b² ln(ζ/Q0²)/4] (physics.md §5).

    Args:
        b: impact parameter in GeV⁻¹.
        zeta: rapidity scale ζ in GeV² (ζ = Q² in SIDIS).
        g2: the g2 parameter in GeV (enters squared); all three broadcast.

    Returns:
        The factor, shape of the broadcast inputs. For ζ ≥ Q0² the exponent is ≤ 0 and
        used as is; for ζ < Q0² (factor > 1) it is saturated as c tanh(t/c),
        c = :data:`EVOLUTION_CAP`, so the factor stays below e^c for any g2 and b.
    """
    g2 = _clip(g2)
    exponent = -(g2 * g2) * (b * b) * (torch.log(zeta) - _LN_Q0_SQUARED) / 4.0
    saturated = EVOLUTION_CAP * torch.tanh(exponent / EVOLUTION_CAP)
    return torch.exp(torch.where(exponent <= 0.0, exponent, saturated))


PDF_TERM_SLOPES: tuple[bool, ...] = (False, True, False)
"""Which of the three TMD PDF terms carries the factor (1 + t): the second (g1B)."""
FF_TERM_SLOPES: tuple[bool, ...] = (False, True)
"""Which of the two TMD FF terms carries the factor (1 + t): the second (g3B)."""


def pdf_terms(x: Tensor, params: Tensor) -> tuple[tuple[Tensor, ...], tuple[Tensor, ...]]:
    """Weights and widths of the three terms of the MAP22 TMD PDF (physics.md §5).

    fNP(x, b) = Σ_k w_k (1 + δ_k t_k) e^{t_k}, t_k = −g_k b²/4, δ = :data:`PDF_TERM_SLOPES`
    (before the evolution factor): the b-dependence enters only through t_k, so these
    ``[..., 3]`` tensors carry all of the x- and parameter-dependence.

    Args:
        x: momentum fraction, 0 < x < 1.
        params: ``[..., 11]`` parameters (order of :data:`PDF_PARAMETER_NAMES`);
            ``params[..., k]`` broadcasts against ``x``.

    Returns:
        ``(w, g)``, each a tuple over the terms (g1, g1B, g1C) of tensors of the broadcast
        shape of x and ``params[..., 0]``: the weights w = softmax(ln c),
        c = (g1, λ² g1B², λ2² g1C), summing to one, and the widths g_k in GeV² (safety
        transforms of the module docstring applied).
    """
    n1, alpha1, sigma1, lam, n1b, n1c, lam2, alpha2, alpha3, sigma2, sigma3 = _clip(params).unbind(
        -1
    )
    lx = torch.log(x) - _LN_X_HAT
    l1x = torch.log1p(-x) - _LN_1MX_HAT
    ln_g1 = _ln_pdf_width(torch.log(smooth_abs(n1)), sigma1, alpha1, lx, l1x)
    ln_gb = _ln_pdf_width(torch.log(smooth_abs(n1b)), sigma2, alpha2, lx, l1x)
    ln_gc = _ln_pdf_width(torch.log(smooth_abs(n1c)), sigma3, alpha3, lx, l1x)
    # ln c_k of the three terms' weights c = (g1, λ² g1B², λ2² g1C)
    ln_c1 = ln_g1
    ln_c2 = _log_square(lam) + 2.0 * ln_gb
    ln_c3 = _log_square(lam2) + ln_gc
    w = torch.softmax(torch.stack(torch.broadcast_tensors(ln_c1, ln_c2, ln_c3)), dim=0)
    return tuple(w), (torch.exp(ln_g1), torch.exp(ln_gb), torch.exp(ln_gc))


def ff_terms(z: Tensor, params: Tensor) -> tuple[tuple[Tensor, ...], tuple[Tensor, ...]]:
    """Weights and widths of the two terms of the MAP22 TMD FF (physics.md §5).

    DNP(z, b) = Σ_k w_k (1 + δ_k t_k) e^{t_k}, t_k = −g_k b²/(4z²), δ = :data:`FF_TERM_SLOPES`
    (before the evolution factor).

    Args:
        z: hadron momentum fraction, 0 < z < 1.
        params: ``[..., 9]`` parameters (order of :data:`FF_PARAMETER_NAMES`).

    Returns:
        ``(w, g)``, each a tuple over the terms (g3, g3B): the weights w = softmax(ln c),
        c = (g3, (λF/z²) g3B²), and the widths g_k in GeV² (of b/z).
    """
    n3, beta1, delta1, gamma1, lam_f, n3b, beta2, delta2, gamma2 = _clip(params).unbind(-1)
    lz = torch.log(z)
    l1z = torch.log1p(-z) - _LN_1MZ_HAT
    ln_g3 = _ln_ff_width(torch.log(smooth_abs(n3)), beta1, delta1, gamma1, lz, l1z)
    ln_gb = _ln_ff_width(torch.log(smooth_abs(n3b)), beta2, delta2, gamma2, lz, l1z)
    # weights c = (g3, (λF/z²) g3B²)
    ln_c1 = ln_g3
    ln_c2 = torch.log(smooth_abs(lam_f)) - 2.0 * lz + 2.0 * ln_gb
    w = torch.softmax(torch.stack(torch.broadcast_tensors(ln_c1, ln_c2)), dim=0)
    return tuple(w), (torch.exp(ln_g3), torch.exp(ln_gb))


def evolution_width(zeta: Tensor, g2: Tensor) -> Tensor:
    """ω(ζ) = g2² ln(ζ/Q0²) in GeV²: E(b, ζ) = e^{−ω b²/4} for ζ ≥ Q0² (physics.md §5).

    The evolution factor is then a Gaussian in b like the fNP terms (its width adds to
    theirs, :meth:`sidislab.fnp.FNP.integrate`). For ζ < Q0² (ω < 0) the exponent of
    :func:`evolution_factor` is saturated and E is not of this form.

    Args:
        zeta: rapidity scale ζ in GeV².
        g2: the g2 parameter in GeV (clipped like everywhere, enters squared).
    """
    g2 = _clip(g2)
    return (g2 * g2) * (torch.log(zeta) - _LN_Q0_SQUARED)


def map22_pdf(
    x: Tensor, b: Tensor, zeta: Tensor, params: Tensor, g2: Tensor, evolution: bool = True
) -> Tensor:
    """MAP22 TMD PDF fNP(x, b; ζ), evolution factor included (arXiv:2206.07598; physics.md §5).

    Args:
        x: momentum fraction, 0 < x < 1.
        b: impact parameter in GeV⁻¹.
        zeta: rapidity scale in GeV².
        params: ``[..., 11]`` parameters in the order of :data:`PDF_PARAMETER_NAMES`;
            ``params[..., k]`` broadcasts against ``x``, ``b`` and ``zeta``.
        g2: g2 in GeV, broadcasting likewise.
        evolution: include the evolution factor (False: the x- and b-shape only, for
            callers that apply the shared factor once).

    Returns:
        fNP, the broadcast shape of x, b, zeta and ``params[..., 0]``; dimensionless,
        fNP(b = 0) = 1. See the module docstring for the parameter-safety transforms.
    """
    (w1, w2, w3), (g1, gb, gc) = pdf_terms(x, params)
    minus_quarter_b2 = b * b / -4.0  # the b-dependence; t = −g b²/4 below
    t1 = g1 * minus_quarter_b2
    tb = gb * minus_quarter_b2
    tc = gc * minus_quarter_b2
    shape = w1 * torch.exp(t1) + w2 * (1.0 + tb) * torch.exp(tb) + w3 * torch.exp(tc)
    return shape * evolution_factor(b, zeta, g2) if evolution else shape


def map22_ff(
    z: Tensor, b: Tensor, zeta: Tensor, params: Tensor, g2: Tensor, evolution: bool = True
) -> Tensor:
    """MAP22 TMD FF DNP(z, b; ζ), evolution factor included (arXiv:2206.07598; physics.md §5).

    Args:
        z: hadron momentum fraction, 0 < z < 1.
        b: impact parameter in GeV⁻¹ (the FF is a function of b/z).
        zeta: rapidity scale in GeV².
        params: ``[..., 9]`` parameters in the order of :data:`FF_PARAMETER_NAMES`;
            ``params[..., k]`` broadcasts against ``z``, ``b`` and ``zeta``.
        g2: g2 in GeV, broadcasting likewise.
        evolution: include the evolution factor (see :func:`map22_pdf`).

    Returns:
        DNP, the broadcast shape of z, b, zeta and ``params[..., 0]``; DNP(b = 0) = 1.
    """
    (w1, w2), (g3, gb) = ff_terms(z, params)
    b_over_z = b / z
    minus_quarter_b2_z2 = b_over_z * b_over_z / -4.0  # t = −g b²/(4z²) below
    t3 = g3 * minus_quarter_b2_z2
    tb = gb * minus_quarter_b2_z2
    shape = w1 * torch.exp(t3) + w2 * (1.0 + tb) * torch.exp(tb)
    return shape * evolution_factor(b, zeta, g2) if evolution else shape
