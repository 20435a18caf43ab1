"""Luminosity providers and the on-disk luminosity cache.

The per-flavour luminosity (physics.md §1)

    L_q(b) = Y₊/x · e_q² · [x f_q(x, b*)] · [z D_q(z, b*)] / z · S(b*; μ, ζ)² · H(μ) · α_em(Q)² / Q³

is the expensive, non-differentiable part of every cross section. Providers compute it
for a batch of kinematic points on requested b-nodes; :mod:`sidislab.lumi.cache` keeps it
on disk.
"""

from sidislab.lumi.analytic import AnalyticProvider
from sidislab.lumi.base import LUMI_FLAVOURS, LuminosityProvider
from sidislab.lumi.cache import (
    DEFAULT_CACHE_GRID,
    LuminosityCache,
    LuminosityTable,
    build_chunk,
    cache_key,
)

__all__ = [
    "DEFAULT_CACHE_GRID",
    "LUMI_FLAVOURS",
    "AnalyticProvider",
    "LuminosityCache",
    "LuminosityProvider",
    "LuminosityTable",
    "build_chunk",
    "cache_key",
]
